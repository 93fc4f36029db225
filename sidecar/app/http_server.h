// The sidecar's and the adapter's HTTP front: one asynchronous server (Boost.Beast over
// Boost.Asio, OpenSSL for TLS) on a few I/O threads, which no idle, slow or half-open
// client can stall. Every connection has a deadline at every step and a place in a
// capped budget (sidecar/lib/connection_budget.h); requests that may block (a drain, an
// API call that reads the pods) run on a separate pool, so the I/O threads always answer
// the probes. Limits and deadlines: sidecar/lib/http_limits.h, docs/sidecar.md.
#pragma once

#include <cstddef>
#include <functional>
#include <memory>
#include <optional>
#include <string>

#include "http_limits.h"
#include "http_message.h"
#include "tls_context.h"

namespace pulse::sidecar {

using HttpHandler = std::function<HttpResponse(const HttpRequest &)>;

struct HttpServerOptions {
    std::string listen;  // "HOST:PORT" ("0.0.0.0:9145", "127.0.0.1:0", "[::]:9145") or "PORT"
    std::optional<TlsOptions> tls;
    HttpLimits limits;
    int io_threads = 2;       // accept, TLS, reading and writing; never block
    int handler_threads = 4;  // requests that may block
    // Requests this answers yes for are handled on the I/O thread that read them: their
    // handler must answer at once (health, metrics). Without it every request goes to the
    // handler threads.
    std::function<bool(const HttpRequest &)> answers_at_once;
};

struct HttpServerStats {
    std::size_t open_connections = 0;
    std::size_t waiting_connections = 0;  // waiting for a request: may be shed
    std::size_t shed_connections = 0;     // closed to make room since the start
    std::size_t refused_connections = 0;  // closed at accept: every connection was busy
};

class HttpServer {
  public:
    // Listens at once; throws std::runtime_error when it cannot (address, TLS material).
    HttpServer(HttpServerOptions options, HttpHandler handler);
    ~HttpServer();  // closes every connection; waits for running handlers
    HttpServer(const HttpServer &) = delete;
    HttpServer &operator=(const HttpServer &) = delete;

    int port() const;
    HttpServerStats stats() const;

  private:
    struct Impl;
    std::unique_ptr<Impl> impl_;
};

}  // namespace pulse::sidecar
