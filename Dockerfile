# subgate in a container. The gateway intercepts traffic with nftables on the
# host, so run it in the host's network namespace with the capability it
# needs for TPROXY:
#   docker build -t subgate .
#   docker run --network host --cap-add NET_ADMIN \
#       -v /etc/subgate:/etc/subgate:ro -v /var/log/subgate:/var/log/subgate subgate
# The abuse desk's tool is in the image too:
#   docker run --rm --network host -v /var/log/subgate:/var/log/subgate \
#       --entrypoint subgate subgate trace --file /var/log/subgate/audit.jsonl ...
FROM debian:12 AS build
WORKDIR /src
COPY . .
RUN deploy/install-deps.sh && \
    cmake -S . -B build -DCMAKE_BUILD_TYPE=RelWithDebInfo -DSUBGATE_TESTS=OFF && \
    cmake --build build -j"$(nproc)" && \
    cmake --install build --prefix /usr/local

FROM debian:12-slim
RUN apt-get update -qq && \
    apt-get install -y -qq --no-install-recommends libuv1 libyaml-0-2 libjansson4 libssl3 \
        libhiredis0.14 libmaxminddb0 libmicrohttpd12 zlib1g && \
    rm -rf /var/lib/apt/lists/*
COPY --from=build /usr/local/sbin/subgated /usr/local/sbin/subgated
COPY --from=build /usr/local/bin/subgate /usr/local/bin/subgate
COPY deploy/subgate.yaml /etc/subgate/subgate.yaml
ENTRYPOINT ["/usr/local/sbin/subgated"]
CMD ["-c", "/etc/subgate/subgate.yaml"]
