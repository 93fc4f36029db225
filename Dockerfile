# pulse: two images from one Dockerfile (docs/container.md).
#
#   docker build --target nginx   -t pulse-nginx   .   # Debian's nginx + ngx_http_pulse_module
#   docker build --target sidecar -t pulse-sidecar .   # pulse-sidecar (run, drain, adapter)
#
# (buildah bud / podman build take the same arguments.) Every stage starts from the same
# debian:${DEBIAN_RELEASE}-slim, so the builder's nginx-dev and the runtime's nginx are the
# same nginx version with the same --with-compat signature; the nginx stage checks that the
# module loads (nginx -t) before the image is committed.
#
# Nothing secret is copied into an image: TLS certificates, keys and site configs are mounted
# at run time. .dockerignore lets in only the sources the build needs.

ARG DEBIAN_RELEASE=bookworm

# ---- builder: the module (against nginx-dev, with Debian's flags) and pulse-sidecar ------
FROM debian:${DEBIAN_RELEASE}-slim AS builder
ARG DEBIAN_FRONTEND=noninteractive
# policy-rc.d: no package's maintainer script starts a daemon while the image is built.
# libgtest-dev only because the project's CMakeLists.txt asks for GTest at configure time;
# no test is built here.
RUN printf '#!/bin/sh\nexit 101\n' >/usr/sbin/policy-rc.d && chmod 755 /usr/sbin/policy-rc.d \
 && apt-get update \
 && apt-get install -y --no-install-recommends \
      g++ make cmake pkg-config nginx-dev \
      prometheus-cpp-dev nlohmann-json3-dev libcli11-dev libssl-dev libboost-dev zlib1g-dev libyaml-cpp-dev libre2-dev \
      libgtest-dev \
 && rm -rf /var/lib/apt/lists/*

WORKDIR /src

# The module, the way `make module` builds it: scripts/build-module.sh runs nginx's configure
# on a copy of /usr/share/nginx/src with Debian's conf_flags and nginx -V's --with-cc-opt.
COPY config config.make ./
COPY scripts/build-module.sh scripts/
COPY common/ common/
COPY ngx_module/ ngx_module/
RUN MAKEFLAGS="-j$(nproc)" scripts/build-module.sh /build \
 && mkdir -p /out \
 && strip --strip-unneeded -o /out/ngx_http_pulse_module.so /build/ngx_http_pulse_module.so \
 && rm -rf /build

# The sidecar, and the Debian packages of the shared libraries it links, which the sidecar
# stage installs. (tests/unit and bench are here only because CMakeLists.txt names their
# sources; only the pulse-sidecar target is built.)
COPY CMakeLists.txt ./
COPY tests/unit/ tests/unit/
COPY tests/tools/ tests/tools/
COPY bench/ bench/
COPY sidecar/ sidecar/
RUN cmake -S . -B /build/cmake -DCMAKE_BUILD_TYPE=Release >/dev/null \
 && cmake --build /build/cmake --target pulse-sidecar -j "$(nproc)" \
 && strip -o /out/pulse-sidecar /build/cmake/pulse-sidecar \
 && ldd /out/pulse-sidecar | awk '$2 == "=>" && $3 ~ /^\// { print $3 }' | while read -r lib; do \
      dpkg -S "$lib" 2>/dev/null || dpkg -S "$(readlink -f "$lib")" 2>/dev/null \
        || dpkg -S "/usr$lib" 2>/dev/null || dpkg -S "${lib#/usr}"; \
    done | cut -d: -f1 | sort -u >/out/sidecar-packages \
 && echo "pulse-sidecar needs: $(tr '\n' ' ' </out/sidecar-packages)" \
 && rm -rf /build

# ---- nginx: Debian's nginx with the module ------------------------------------------------
FROM debian:${DEBIAN_RELEASE}-slim AS nginx
ARG DEBIAN_RELEASE
ARG DEBIAN_FRONTEND=noninteractive
# Debian's nginx binary only (nginx-core would add the geoip, xslt, image-filter, mail and
# stream modules), and pulse-sidecar's libraries: the nginx container's preStop hook runs
# `pulse-sidecar drain` (conf/kubernetes). A dedicated non-root user with a fixed uid
# (runAsNonRoot can check it); the compiled-in log paths point at stdout/stderr.
COPY --from=builder /out/sidecar-packages /tmp/sidecar-packages
RUN printf '#!/bin/sh\nexit 101\n' >/usr/sbin/policy-rc.d && chmod 755 /usr/sbin/policy-rc.d \
 && apt-get update \
 && apt-get install -y --no-install-recommends nginx curl $(cat /tmp/sidecar-packages) \
 && rm -rf /var/lib/apt/lists/* /usr/sbin/policy-rc.d /tmp/sidecar-packages \
 && groupadd --gid 10001 pulse \
 && useradd --uid 10001 --gid 10001 --no-create-home --home-dir /nonexistent \
      --shell /usr/sbin/nologin pulse \
 && rm -f /etc/nginx/sites-enabled/default \
 && chown -R 10001:10001 /var/lib/nginx \
 && ln -sf /dev/stdout /var/log/nginx/access.log \
 && ln -sf /dev/stderr /var/log/nginx/error.log \
 && mkdir -p /usr/share/nginx/modules-available /etc/nginx/modules-enabled /usr/share/doc/pulse/examples \
 && echo 'load_module /usr/lib/nginx/modules/ngx_http_pulse_module.so;' \
      >/usr/share/nginx/modules-available/mod-http-pulse.conf \
 && ln -s /usr/share/nginx/modules-available/mod-http-pulse.conf \
      /etc/nginx/modules-enabled/50-mod-http-pulse.conf

COPY --from=builder /out/ngx_http_pulse_module.so /usr/lib/nginx/modules/
COPY --from=builder /out/pulse-sidecar /usr/local/bin/pulse-sidecar
# The default config, and every conf/nginx/*.conf (web.conf among them) as examples.
COPY conf/nginx/container.conf /etc/nginx/nginx.conf
COPY conf/nginx/*.conf /usr/share/doc/pulse/examples/

USER 10001:10001
# The module loads into this nginx and the config is valid for this user; the drain client
# runs. (nginx's output goes to a file the user owns: /dev/stdout of a build step may belong
# to root.)
RUN nginx -t >/tmp/nginx-t.log 2>&1; status=$?; cat /tmp/nginx-t.log; rm -rf /tmp/nginx*; exit $status
RUN pulse-sidecar drain --help >/dev/null

ARG VERSION=dev
ARG SOURCE=""
ARG REVISION=""
ARG LICENSES=NOASSERTION
LABEL org.opencontainers.image.title="pulse-nginx" \
      org.opencontainers.image.description="Debian's nginx with ngx_http_pulse_module (request metrics in shared memory, a Prometheus exporter, cache headers for fingerprinted assets) and pulse-sidecar for its preStop drain" \
      org.opencontainers.image.version="${VERSION}" \
      org.opencontainers.image.revision="${REVISION}" \
      org.opencontainers.image.source="${SOURCE}" \
      org.opencontainers.image.licenses="${LICENSES}" \
      org.opencontainers.image.base.name="docker.io/library/debian:${DEBIAN_RELEASE}-slim"
EXPOSE 8080
# SIGQUIT: nginx's graceful shutdown (finish requests in flight, then exit).
STOPSIGNAL SIGQUIT
ENTRYPOINT ["nginx"]
CMD ["-g", "daemon off;"]

# ---- sidecar: pulse-sidecar and the shared libraries it links ------------------------------
FROM debian:${DEBIAN_RELEASE}-slim AS sidecar
ARG DEBIAN_RELEASE
ARG DEBIAN_FRONTEND=noninteractive
COPY --from=builder /out/sidecar-packages /tmp/sidecar-packages
RUN apt-get update \
 && xargs apt-get install -y --no-install-recommends </tmp/sidecar-packages \
 && rm -rf /var/lib/apt/lists/* /tmp/sidecar-packages \
 && groupadd --gid 10001 pulse \
 && useradd --uid 10001 --gid 10001 --no-create-home --home-dir /nonexistent \
      --shell /usr/sbin/nologin pulse
COPY --from=builder /out/pulse-sidecar /usr/local/bin/pulse-sidecar
RUN if ldd /usr/local/bin/pulse-sidecar | grep 'not found'; then exit 1; fi \
 && pulse-sidecar --help >/dev/null

USER 10001:10001
ARG VERSION=dev
ARG SOURCE=""
ARG REVISION=""
ARG LICENSES=NOASSERTION
LABEL org.opencontainers.image.title="pulse-sidecar" \
      org.opencontainers.image.description="pulse-sidecar: scrapes ngx_http_pulse_module and serves autoscaling signals, health and drain answers, and the Kubernetes custom metrics API" \
      org.opencontainers.image.version="${VERSION}" \
      org.opencontainers.image.revision="${REVISION}" \
      org.opencontainers.image.source="${SOURCE}" \
      org.opencontainers.image.licenses="${LICENSES}" \
      org.opencontainers.image.base.name="docker.io/library/debian:${DEBIAN_RELEASE}-slim"
# run: /metrics /signals /healthz /readyz /drain on 9145; adapter: HTTPS on 6443.
EXPOSE 9145
ENTRYPOINT ["pulse-sidecar"]
# Defaults: scrape http://127.0.0.1:8080/metrics (the nginx image in the same pod), listen on
# 0.0.0.0:9145; PULSE_SCRAPE, PULSE_LISTEN, ... or flags change them.
CMD ["run"]
