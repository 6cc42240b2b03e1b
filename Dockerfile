# subgate in a container. The gateway intercepts traffic with nftables on the
# host, so run it in the host's network namespace with the capability it
# needs for its table and TPROXY:
#   docker build -t subgate .
#   docker run --network host --cap-add NET_ADMIN \
#       -v /etc/subgate:/etc/subgate:ro -v /var/log/subgate:/var/log/subgate subgate
# It runs as the image's user subgate, never as root: the files it reads
# (configuration, secrets: mode 0640, group subgate) and the audit directory
# it writes (logrotate creates files there, SIGHUP reopens) must belong to
# that uid (docker run --rm --entrypoint id subgate).
#
# Capabilities: Docker gives a non-root USER none of the container's set
# (no ambient capabilities), so subgated carries file capabilities instead,
# CAP_NET_ADMIN and CAP_NET_BIND_SERVICE "permitted" only ("+p", not "+ep"):
# the kernel grants what the container's bounding set allows, and subgated
# raises them itself at start (priv_raise). With "+ep" a container started
# without --cap-add NET_ADMIN could not even exec it; with "+p" it starts,
# and only a configuration that needs CAP_NET_ADMIN (intercept.nftables,
# TPROXY listeners) fails at start ("Operation not permitted"). After
# binding and loading its table subgated keeps only what its configuration
# still uses (docs/operator-guide.md "Privileges"). --security-opt
# no-new-privileges ignores file capabilities: leave it out, subgated sets
# no_new_privs itself once it has started.
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
# libcap2-bin only for setcap below.
RUN apt-get update -qq && \
    apt-get install -y -qq --no-install-recommends libuv1 libyaml-0-2 libjansson4 libssl3 \
        libhiredis0.14 libmaxminddb0 libmicrohttpd12 zlib1g libnftables1 \
        libnetfilter-conntrack3 libcap-ng0 libcap2-bin && \
    rm -rf /var/lib/apt/lists/*
COPY --from=build /usr/local/sbin/subgated /usr/local/sbin/subgated
COPY --from=build /usr/local/bin/subgate /usr/local/bin/subgate
COPY deploy/subgate.yaml /etc/subgate/subgate.yaml
COPY deploy/install-user.sh /usr/local/sbin/install-user.sh
RUN install-user.sh && \
    install -d -o subgate -g subgate -m 0750 /var/log/subgate && \
    setcap cap_net_admin,cap_net_bind_service+p /usr/local/sbin/subgated && \
    apt-get purge -y -qq --auto-remove libcap2-bin
USER subgate
ENTRYPOINT ["/usr/local/sbin/subgated"]
CMD ["-c", "/etc/subgate/subgate.yaml"]
