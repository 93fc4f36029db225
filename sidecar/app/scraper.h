// Fetches the module's exposition over HTTP with libcurl: one connection kept alive
// between scrapes, bounded connect and total timeouts, compressed answers accepted.
#pragma once

#include <memory>
#include <string>

namespace pulse::sidecar {

struct ScrapeResult {
    bool ok = false;
    long status = 0;
    std::string body;
    std::string content_type;
    std::string error;  // why it failed, one line
    double seconds = 0;
};

class Scraper {
  public:
    Scraper(std::string url, double connect_timeout, double total_timeout);
    ~Scraper();
    Scraper(const Scraper &) = delete;
    Scraper &operator=(const Scraper &) = delete;

    ScrapeResult scrape();

  private:
    struct Impl;
    std::unique_ptr<Impl> impl_;
};

// One plain HTTP request, for `pulse-sidecar drain` and tests: returns the status (0 on
// a transport error, with `error` set) and the body.
long http_request(const std::string &method, const std::string &url, double timeout,
                  std::string &body, std::string &error);

}  // namespace pulse::sidecar
