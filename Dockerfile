# Multi-stage: wheels are built with the compiler toolchain, the runtime image has none of it.
FROM python:3.11-slim AS build
WORKDIR /src
COPY pyproject.toml README.md ./
COPY revisit ./revisit
COPY stream ./stream
COPY enrichment ./enrichment
COPY alerts ./alerts
RUN pip wheel --no-cache-dir --wheel-dir /wheels ".[postgres]"

FROM python:3.11-slim AS runtime
RUN useradd --create-home --uid 10001 revisit
COPY --from=build /wheels /wheels
RUN pip install --no-cache-dir --no-index --find-links /wheels "revisit[postgres]" && rm -rf /wheels
USER revisit
WORKDIR /home/revisit
# /metrics and /healthz of the worker
EXPOSE 6066
ENTRYPOINT ["revisit"]
CMD ["--help"]
