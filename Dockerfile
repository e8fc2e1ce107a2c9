# Image for the Dagster webserver and daemon of docker-compose.yml.
FROM python:3.11-slim
RUN apt-get update && apt-get install -y --no-install-recommends build-essential cmake \
    && rm -rf /var/lib/apt/lists/*
WORKDIR /app
COPY pyproject.toml README.md workspace.yaml ./
COPY linksyn_dagster ./linksyn_dagster
COPY sql ./sql
RUN CMAKE_BUILD_PARALLEL_LEVEL=4 pip install --no-cache-dir -e .
ENV DAGSTER_HOME=/data/dagster_home LINKSYN_DATA_DIR=/data
RUN mkdir -p /data/dagster_home
