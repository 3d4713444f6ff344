# Hourglass daemons and CLI in a Debian image.
#   docker build -t hourglass .          (or: docker compose up --build)
# Stage 1 builds with the same scripts/install-deps and CMake as a
# developer machine; stage 2 carries only the binaries, the schema and the
# runtime libraries.

FROM debian:bookworm AS build
WORKDIR /src
COPY scripts/install-deps scripts/install-deps
RUN scripts/install-deps && rm -rf /var/lib/apt/lists/*
# Only the sources: a host build/ or var/ must not leak into the image.
COPY CMakeLists.txt ./
COPY common common
COPY include include
COPY master master
COPY worker worker
COPY cli cli
COPY plugins plugins
COPY schema schema
RUN cmake -S . -B /build -DCMAKE_BUILD_TYPE=RelWithDebInfo -DHG_BUILD_TESTS=OFF \
 && cmake --build /build -j"$(nproc)" \
 && cmake --install /build --prefix /opt/hourglass --strip \
 && mkdir -p /opt/hourglass/lib/hourglass/plugins \
 && (cp /build/hg_*.so /opt/hourglass/lib/hourglass/plugins/ 2>/dev/null || true)

FROM debian:bookworm-slim
RUN apt-get update \
 && apt-get install -y --no-install-recommends \
      libczmq4 libzmq5 libmsgpackc2 libmariadb3 libcurl4 libmicrohttpd12 \
      libjansson4 libsodium23 libinih1 tzdata ca-certificates curl \
 && rm -rf /var/lib/apt/lists/* \
 && useradd --system --home-dir /var/lib/hourglass --create-home hourglass \
 && install -d -o hourglass -g hourglass -m 700 /var/lib/hourglass/keys
# /var/lib/hourglass/keys: where compose mounts the CURVE keys volume; a
# fresh named volume takes this directory's owner and mode.
COPY --from=build /opt/hourglass/bin/ /usr/local/bin/
COPY --from=build /opt/hourglass/share/hourglass/ /usr/local/share/hourglass/
COPY --from=build /opt/hourglass/lib/hourglass/ /usr/local/lib/hourglass/
# The build's compiled-in schema path is the build tree; point at the copy.
ENV HOURGLASS_SCHEMA_DIR=/usr/local/share/hourglass/schema
USER hourglass
WORKDIR /var/lib/hourglass
EXPOSE 8642 8643
CMD ["hourglass-master", "--help"]
