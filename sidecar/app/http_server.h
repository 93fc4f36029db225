// A small HTTP(S) server on civetweb: one dispatch function for every request, a thread
// pool, and (for the adapter) TLS with client certificates verified against a CA.
#pragma once

#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <utility>
#include <vector>

namespace pulse::sidecar {

struct HttpRequest {
    std::string method;
    std::string path;   // decoded? no: as sent, without the query
    std::string query;  // without "?"
    std::string remote;
    std::vector<std::pair<std::string, std::string>> headers;
    // With TLS: the client certificate, present only when verified against the CA.
    std::optional<std::string> client_subject;

    std::optional<std::string> header(std::string_view name) const;
    // The value of query parameter `name`, percent-decoded.
    std::optional<std::string> param(std::string_view name) const;
};

struct HttpResponse {
    int status = 200;
    std::string content_type = "text/plain; charset=utf-8";
    std::string body;
    std::vector<std::pair<std::string, std::string>> headers;
};

using HttpHandler = std::function<HttpResponse(const HttpRequest &)>;

struct TlsOptions {
    std::string cert_file;
    std::string key_file;
    std::string client_ca_file;  // client certificates are verified against it when asked for
};

class HttpServer {
public:
    // `listen` is "HOST:PORT" ("0.0.0.0:9145", "127.0.0.1:0", "[::]:9145").
    HttpServer(const std::string &listen, HttpHandler handler, int threads = 8,
               std::optional<TlsOptions> tls = std::nullopt);
    ~HttpServer();
    HttpServer(const HttpServer &) = delete;
    HttpServer &operator=(const HttpServer &) = delete;

    int port() const;

private:
    struct Impl;
    std::unique_ptr<Impl> impl_;
};

std::string percent_decode(std::string_view s);

}  // namespace pulse::sidecar
