from linksyn_dagster.core.tokens import TOKENIZER, count_tokens


def test_cl100k_counts_known_texts_offline():
    # reference counts of cl100k_base (the GPT-4 tokenizer)
    assert count_tokens(["hello world", "", None, "tiktoken is great!"]) == [2, 0, 0, 6]
    assert TOKENIZER == "tiktoken cl100k_base"


def test_chinese_and_long_texts_count_more_tokens():
    short, long = count_tokens(["牛顿第二定律", "牛顿第二定律描述了力、质量和加速度之间的关系。" * 10])
    assert 0 < short < long
