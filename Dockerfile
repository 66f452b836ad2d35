# modelarts-controller container image: build and unit-test on Debian 12, run on bookworm-slim with
# only the shared libraries the binary links (Debian's spdlog, fmt, prometheus-cpp and httplib ship
# no static archives, so a fully static or distroless image would need copied .so files).
#   docker build -t modelarts-controller:0.1.0 .

FROM debian:bookworm AS build
RUN apt-get update \
 && apt-get install -y --no-install-recommends \
      build-essential cmake ninja-build pkg-config ca-certificates \
      libcpp-httplib-dev libyaml-cpp-dev nlohmann-json3-dev libspdlog-dev libfmt-dev \
      prometheus-cpp-dev libssl-dev libgtest-dev libgmock-dev \
 && rm -rf /var/lib/apt/lists/*
WORKDIR /src
COPY . .
# Unit tests only (-LE integration): the integration tests start the daemon and the simulator on
# loopback and belong to CI, not to every image build.
RUN cmake -S . -B /build -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo \
 && cmake --build /build \
 && ctest --test-dir /build -LE integration --output-on-failure \
 && strip -o /modelarts-controller /build/modelarts-controller

FROM debian:bookworm-slim
# ca-certificates (which pulls in openssl) gives OpenSSL's default verify paths for HTTPS to the
# ModelArts and IAM endpoints.
RUN apt-get update \
 && apt-get install -y --no-install-recommends \
      ca-certificates libcpp-httplib0.11 libyaml-cpp0.7 libspdlog1.10 libfmt9 \
      libprometheus-cpp-core1.0 libssl3 zlib1g libbrotli1 \
 && rm -rf /var/lib/apt/lists/*
COPY --from=build /modelarts-controller /usr/local/bin/modelarts-controller
# Numeric user so Kubernetes runAsNonRoot can verify it (the distroless "nonroot" UID/GID).
USER 65532:65532
EXPOSE 8080
# The daemon handles SIGTERM itself (signals are blocked and taken by sigwait), also as PID 1.
STOPSIGNAL SIGTERM
ENTRYPOINT ["/usr/local/bin/modelarts-controller"]
