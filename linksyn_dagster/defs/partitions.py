"""The discipline partitions every partitioned LinkSyn asset shares (from the taxonomy file)."""

import dagster as dg

from linksyn_dagster.core.taxonomy import DISCIPLINES

discipline_partitions = dg.StaticPartitionsDefinition(list(DISCIPLINES))
