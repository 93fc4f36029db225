#include "signal_config.h"

#include <gtest/gtest.h>

namespace pulse::sidecar {
namespace {

const char *kWorkers = R"yaml(
sources:
  - name: redis
    url: http://127.0.0.1:9121/metrics
    interval: 2s
    timeout: 500ms
  - name: billing-api
    url: https://billing.internal:8443/metrics
    bearer_token_file: /var/run/secrets/token
    tls_ca: /etc/pulse/ca.crt
signals:
  - name: pulse_jobs_waiting
    help: Jobs waiting, per job.
    expr: label_replace(redis_key_size{key=~"queue:.*"}, "job", "$1", "key", "queue:(.*)")
    objects:
      - namespace: shop
        resource: deployments
        name: workers-emails
        match: {job: emails}
  - name: pulse_jobs_failed_per_second
    expr: sum by (job) (rate(jobs_failed_total[1m]))
)yaml";

std::string error_of(std::string_view yaml) {
    auto r = parse_config(yaml, "workers.yaml");
    auto *e = std::get_if<ConfigError>(&r);
    return e ? e->message : std::string("no error");
}

TEST(SignalConfig, ReadsSourcesSignalsAndObjects) {
    auto r = parse_config(kWorkers, "workers.yaml");
    ASSERT_TRUE(std::holds_alternative<SidecarConfig>(r)) << std::get<ConfigError>(r).message;
    const auto &c = std::get<SidecarConfig>(r);
    ASSERT_EQ(c.sources.size(), 2u);
    EXPECT_EQ(c.sources[0].name, "redis");
    EXPECT_EQ(c.sources[0].url, "http://127.0.0.1:9121/metrics");
    EXPECT_DOUBLE_EQ(c.sources[0].interval, 2);
    EXPECT_DOUBLE_EQ(c.sources[0].timeout, 0.5);
    EXPECT_EQ(c.sources[0].line, 3);
    EXPECT_DOUBLE_EQ(c.sources[1].interval, 1);  // defaults: 1s, and the interval as timeout
    EXPECT_DOUBLE_EQ(c.sources[1].timeout, 1);
    EXPECT_EQ(c.sources[1].bearer_token_file, "/var/run/secrets/token");
    EXPECT_EQ(c.sources[1].tls_ca, "/etc/pulse/ca.crt");
    ASSERT_EQ(c.signals.size(), 2u);
    EXPECT_EQ(c.signals[0].name, "pulse_jobs_waiting");
    EXPECT_EQ(c.signals[0].help, "Jobs waiting, per job.");
    ASSERT_NE(c.signals[0].parsed, nullptr);
    EXPECT_TRUE(std::holds_alternative<promql::Call>(c.signals[0].parsed->value));
    ASSERT_EQ(c.signals[0].objects.size(), 1u);
    const auto &o = c.signals[0].objects[0];
    EXPECT_EQ(o.ns, "shop");
    EXPECT_EQ(o.resource, "deployments");
    EXPECT_EQ(o.name, "workers-emails");
    ASSERT_EQ(o.match.size(), 1u);
    EXPECT_EQ(o.match[0], (std::pair<std::string, std::string>{"job", "emails"}));
    EXPECT_TRUE(std::holds_alternative<promql::Aggregation>(c.signals[1].parsed->value));
}

TEST(SignalConfig, EmptyFileAddsNothing) {
    auto r = parse_config("", "empty.yaml");
    ASSERT_TRUE(std::holds_alternative<SidecarConfig>(r));
    EXPECT_TRUE(std::get<SidecarConfig>(r).signals.empty());
}

TEST(SignalConfig, ExpressionErrorsNameTheSignalAndThePosition) {
    std::string e = error_of("signals:\n  - name: x\n    expr: foo_bar(up)\n");
    EXPECT_EQ(e.rfind("workers.yaml:3: signals[0] (x).expr: 1:1: ", 0), 0u) << e;
    EXPECT_NE(e.find("foo_bar"), std::string::npos) << e;
    e = error_of(
        "signals:\n  - name: x\n    expr: 'label_replace(up, \"a\", \"$1\", \"b\", \"(\")'\n");
    EXPECT_EQ(e.rfind("workers.yaml:3: signals[0] (x).expr: 1:", 0), 0u) << e;
}

TEST(SignalConfig, DuplicatesAndBuiltInNamesAreRefused) {
    EXPECT_EQ(error_of("signals:\n  - {name: a, expr: up}\n  - {name: a, expr: up}\n"),
              "workers.yaml:3: signals[1].name: \"a\" is defined twice");
    EXPECT_EQ(
        error_of("signals:\n  - {name: pulse_requests_per_second, expr: up}\n"),
        "workers.yaml:2: signals[0].name: \"pulse_requests_per_second\" is one of the built-in "
        "nginx signals");
    EXPECT_EQ(
        error_of("sources:\n  - {name: r, url: 'http://a/m'}\n  - {name: r, url: 'http://b/m'}\n"),
        "workers.yaml:3: sources[1].name: \"r\" is defined twice");
    EXPECT_EQ(error_of("signals:\n  - {name: pulse_source_up, expr: up}\n"),
              "workers.yaml:2: signals[0].name: \"pulse_source_up\" is reserved: names starting "
              "pulse_source_ are pulse's own metrics");
    EXPECT_EQ(error_of("signals:\n  - {name: pulse_draining, expr: up}\n"),
              "workers.yaml:2: signals[0].name: \"pulse_draining\" is one of pulse's own metrics");
    EXPECT_NE(error_of("signals:\n  - {name: pulse_adapter_requests_total, expr: up}\n"),
              "no error");
}

TEST(SignalConfig, BadSettingsAreNamed) {
    EXPECT_EQ(error_of("sourcez: []\n"),
              "workers.yaml:1: the file: unknown setting \"sourcez\" (known: sources, signals)");
    EXPECT_EQ(
        error_of("sources:\n  - {name: r, url: 'ftp://a/m'}\n"),
        "workers.yaml:2: sources[0] (r).url: \"ftp://a/m\" is not an http:// or https:// URL");
    EXPECT_EQ(error_of("sources:\n  - {name: r, url: 'http://a/m', interval: 1s, timeout: 2s}\n"),
              "workers.yaml:2: sources[0] (r).timeout: longer than the interval");
    EXPECT_EQ(error_of("sources:\n  - {name: r, url: 'http://a/m', interval: soon}\n")
                  .rfind("workers.yaml:2: sources[0] (r).interval: ", 0),
              0u);
    EXPECT_EQ(
        error_of("sources:\n  - {name: 'r s', url: 'http://a/m'}\n"),
        "workers.yaml:2: sources[0].name: \"r s\" must be 1-63 letters, digits, \"_\" or \"-\"");
    EXPECT_EQ(error_of("sources:\n  - {url: 'http://a/m'}\n"),
              "workers.yaml:2: sources[0]: \"name\" is required");
    EXPECT_EQ(error_of("sources:\n  - {name: r, url: 'http://a/m', tls_ca: /ca.crt}\n"),
              "workers.yaml:2: sources[0] (r).tls_ca: given for a URL that is not https://");
    EXPECT_EQ(error_of("signals:\n  - {name: 'a-b', expr: up}\n"),
              "workers.yaml:2: signals[0].name: \"a-b\" is not a metric name");
    EXPECT_EQ(error_of("signals:\n  - {name: a, expr: up, objects: [{namespace: shop, resource: "
                       "Deployment, name: w}]}\n"),
              "workers.yaml:2: signals[0] (a).objects[0].resource: \"Deployment\" must be a "
              "resource's plural, lowercase name (deployments)");
    EXPECT_EQ(error_of("signals: [ {name: a, expr: up\n").rfind("workers.yaml:", 0), 0u);
}

}  // namespace
}  // namespace pulse::sidecar
