#include "spec_yaml.h"

#include <yaml-cpp/yaml.h>

#include <charconv>
#include <limits>
#include <nlohmann/json.hpp>
#include <optional>
#include <utility>
#include <vector>

#include "behavior.h"
#include "common/ascii_case.h"
#include "json_reading.h"
#include "quantity.h"

namespace pulse::hpa {
namespace {

constexpr const char *kMetricsAnnotation = "autoscaling.alpha.kubernetes.io/metrics";
constexpr const char *kBehaviorAnnotation = "autoscaling.alpha.kubernetes.io/behavior";
constexpr std::int32_t kDefaultCpuUtilization = 80;            // autoscaling.DefaultCPUUtilization
constexpr std::int32_t kMaxStabilizationWindowSeconds = 3600;  // validation.go
constexpr std::int32_t kMaxPeriodSeconds = 1800;

struct SpecFailure {
    std::string message;
};

[[noreturn]] void fail(const std::string &path, const std::string &what) {
    throw SpecFailure{path.empty() ? what : path + ": " + what};
}

using json_reading::quote;

std::string describe(const YAML::Node &n) {
    if (!n.IsDefined() || n.IsNull()) return "null";
    if (n.IsSequence()) return "a list";
    if (n.IsMap()) return "a mapping";
    return n.Tag() == "!" ? quote(n.Scalar()) + " (a string)" : quote(n.Scalar());
}

bool present(const YAML::Node &n) {
    return n.IsDefined() && !n.IsNull();
}

// A mapping's value at `key`, or a null node. `ci`: a key in any case, as Go's encoding/json
// reads the annotations (the exact spelling first).
YAML::Node field(const YAML::Node &map, std::string_view key, bool ci = false) {
    if (!map.IsMap()) return YAML::Node();
    std::optional<YAML::Node> folded;
    for (auto it = map.begin(); it != map.end(); ++it) {
        if (!it->first.IsScalar()) continue;
        const std::string &k = it->first.Scalar();
        if (k == key) return it->second;
        if (ci && !folded && common::iequals(k, key)) folded = it->second;
    }
    return folded ? *folded : YAML::Node();
}

void expect_map(const YAML::Node &n, const std::string &path) {
    if (!n.IsMap()) fail(path, "must be a mapping, not " + describe(n));
}

std::string text(const YAML::Node &n, const std::string &path) {
    if (!n.IsScalar()) fail(path, "must be a string, not " + describe(n));
    return n.Scalar();
}

std::string opt_text(const YAML::Node &map, std::string_view key, const std::string &path,
                     bool ci = false) {
    auto n = field(map, key, ci);
    return present(n) ? text(n, path) : std::string();
}

std::string required_text(const YAML::Node &map, std::string_view key, const std::string &path,
                          bool ci = false) {
    auto n = field(map, key, ci);
    if (!present(n)) fail(path, "required");
    std::string s = text(n, path);
    if (s.empty()) fail(path, "required");
    return s;
}

std::int32_t integer(const YAML::Node &n, const std::string &path) {
    if (!n.IsScalar() || n.Tag() == "!") fail(path, describe(n) + " is not an integer");
    std::string_view s = n.Scalar();
    if (!s.empty() && s.front() == '+') s.remove_prefix(1);
    std::int64_t v = 0;
    auto [end, ec] = std::from_chars(s.data(), s.data() + s.size(), v);
    if (ec == std::errc::result_out_of_range || (ec == std::errc() && end == s.data() + s.size() &&
                                                 (v < std::numeric_limits<std::int32_t>::min() ||
                                                  v > std::numeric_limits<std::int32_t>::max())))
        fail(path, quote(n.Scalar()) + " is out of range for an int32");
    if (ec != std::errc() || end != s.data() + s.size() || s.empty())
        fail(path, quote(n.Scalar()) + " is not an integer");
    return static_cast<std::int32_t>(v);
}

std::optional<std::int32_t> opt_integer(const YAML::Node &map, std::string_view key,
                                        const std::string &path, bool ci = false) {
    auto n = field(map, key, ci);
    if (!present(n)) return std::nullopt;
    return integer(n, path);
}

// Every quantity of an HPA's spec is a target, which validation wants positive: a
// negative one is refused here, as its milli-units may round up to 1.
std::int64_t quantity(const YAML::Node &n, const std::string &path) {
    if (!n.IsScalar()) fail(path, describe(n) + " is not a quantity");
    auto q = parse_quantity(n.Scalar());
    if (!q.ok) fail(path, quantity_problem(n.Scalar(), q));
    if (!n.Scalar().empty() && n.Scalar().front() == '-') fail(path, "must be positive");
    return q.milli;
}

std::optional<std::int64_t> opt_quantity(const YAML::Node &map, std::string_view key,
                                         const std::string &path, bool ci = false) {
    auto n = field(map, key, ci);
    if (!present(n)) return std::nullopt;
    return quantity(n, path);
}

// A label selector kept as JSON text: every scalar a string, as LabelSelector has them.
nlohmann::json to_json(const YAML::Node &n) {
    if (n.IsMap()) {
        auto o = nlohmann::json::object();
        for (auto it = n.begin(); it != n.end(); ++it)
            o[it->first.IsScalar() ? it->first.Scalar() : std::string()] = to_json(it->second);
        return o;
    }
    if (n.IsSequence()) {
        auto a = nlohmann::json::array();
        for (const auto &e : n) a.push_back(to_json(e));
        return a;
    }
    if (n.IsScalar()) return n.Scalar();
    return nullptr;
}

std::string selector(const YAML::Node &map, std::string_view key, const std::string &path,
                     bool ci = false) {
    auto n = field(map, key, ci);
    if (!present(n)) return {};
    expect_map(n, path);
    return to_json(n).dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
}

ObjectReference object_reference(const YAML::Node &n, const std::string &path, bool ci = false) {
    if (!present(n)) fail(path, "required");
    expect_map(n, path);
    ObjectReference ref;
    ref.kind = required_text(n, "kind", path + ".kind", ci);
    ref.name = required_text(n, "name", path + ".name", ci);
    ref.api_version = opt_text(n, "apiVersion", path + ".apiVersion", ci);
    return ref;
}

void check_positive(std::optional<std::int64_t> v, const std::string &path) {
    if (v && *v <= 0) fail(path, "must be positive");
}

void check_utilization(std::optional<std::int32_t> v, const std::string &path) {
    if (v && *v < 1) fail(path, "must be greater than 0");
}

// ---- the values a target sets, and the type the controller then acts on ----------------

struct Target {
    std::optional<std::int32_t> utilization;
    std::optional<std::int64_t> average_value, value;
};

MetricTarget make_target(TargetType type, const Target &t) {
    MetricTarget out;
    out.type = type;
    out.average_utilization = t.utilization.value_or(0);
    out.average_value_milli = t.average_value.value_or(0);
    out.value_milli = t.value.value_or(0);
    return out;
}

// Resource and ContainerResource: the controller takes averageValue when set, else the
// utilization (validation lets exactly one be set).
MetricTarget resource_target(const Target &t, const std::string &path) {
    if (!t.utilization && !t.average_value)
        fail(path + "averageUtilization", "required: set averageUtilization or averageValue");
    if (t.utilization && t.average_value)
        fail(path + "averageValue", "may not be set together with averageUtilization");
    return make_target(t.average_value ? TargetType::average_value : TargetType::utilization, t);
}

// Object and External: per pod when averageValue is set (an Object target's type is
// rewritten so by the autoscaling/v1 round trip; the controller tests an External target's
// averageValue first), else the value.
MetricTarget value_target(const Target &t) {
    return make_target(t.average_value ? TargetType::average_value : TargetType::value, t);
}

// ---- autoscaling/v2beta2 and v2 ---------------------------------------------------------

Target read_target_v2(const YAML::Node &source, const std::string &path) {
    auto n = field(source, "target");
    std::string tp = path + ".target";
    if (!present(n)) fail(tp, "required");
    expect_map(n, tp);
    auto type = field(n, "type");
    if (!present(type)) fail(tp + ".type", "required");
    std::string t = text(type, tp + ".type");
    if (t != "Utilization" && t != "Value" && t != "AverageValue")
        fail(tp + ".type", quote(t) + " is not Utilization, Value or AverageValue");
    Target out;
    out.utilization = opt_integer(n, "averageUtilization", tp + ".averageUtilization");
    out.average_value = opt_quantity(n, "averageValue", tp + ".averageValue");
    out.value = opt_quantity(n, "value", tp + ".value");
    check_utilization(out.utilization, tp + ".averageUtilization");
    check_positive(out.average_value, tp + ".averageValue");
    check_positive(out.value, tp + ".value");
    return out;
}

void read_metric_identifier(const YAML::Node &source, const std::string &path, MetricSpec &m) {
    auto id = field(source, "metric");
    std::string ip = path + ".metric";
    if (!present(id)) fail(ip + ".name", "required");
    expect_map(id, ip);
    m.name = required_text(id, "name", ip + ".name");
    m.selector = selector(id, "selector", ip + ".selector");
}

struct SourceKind {
    const char *type;  // as the API spells it
    const char *key;   // the field holding it
    MetricType metric;
};

constexpr SourceKind kSources[] = {
    {"Object", "object", MetricType::object},
    {"Pods", "pods", MetricType::pods},
    {"Resource", "resource", MetricType::resource},
    {"ContainerResource", "containerResource", MetricType::container_resource},
    {"External", "external", MetricType::external},
};

// The source named by `type`, checked as validateMetricSpec does: present, and alone.
const SourceKind &metric_source(const YAML::Node &m, const std::string &path, bool ci = false) {
    expect_map(m, path);
    auto type = field(m, "type", ci);
    if (!present(type)) fail(path + ".type", "required");
    std::string t = text(type, path + ".type");
    const SourceKind *kind = nullptr;
    for (const auto &s : kSources)
        if (t == s.type) kind = &s;
    if (kind == nullptr)
        fail(path + ".type", "unknown metric type " + quote(t) +
                                 " (Resource, ContainerResource, Pods, Object or External)");
    for (const auto &s : kSources) {
        if (&s == kind || !present(field(m, s.key, ci))) continue;
        fail(path + "." + s.key, std::string("may not be set in a metric of type ") + t);
    }
    if (!present(field(m, kind->key, ci)))
        fail(path + "." + kind->key, std::string("required for a metric of type ") + t);
    expect_map(field(m, kind->key, ci), path + "." + kind->key);
    return *kind;
}

MetricSpec read_metric_v2(const YAML::Node &m, const std::string &path) {
    const SourceKind &kind = metric_source(m, path);
    std::string sp = path + "." + kind.key;
    auto src = field(m, kind.key);
    MetricSpec out;
    out.type = kind.metric;
    switch (kind.metric) {
        case MetricType::resource:
        case MetricType::container_resource: {
            out.name = required_text(src, "name", sp + ".name");
            if (kind.metric == MetricType::container_resource)
                out.container = required_text(src, "container", sp + ".container");
            out.target = resource_target(read_target_v2(src, sp), sp + ".target.");
            break;
        }
        case MetricType::pods: {
            read_metric_identifier(src, sp, out);
            Target t = read_target_v2(src, sp);
            if (!t.average_value) fail(sp + ".target.averageValue", "required");
            out.target = make_target(TargetType::average_value, t);
            break;
        }
        case MetricType::object: {
            out.described_object =
                object_reference(field(src, "describedObject"), sp + ".describedObject");
            read_metric_identifier(src, sp, out);
            Target t = read_target_v2(src, sp);
            if (!t.value && !t.average_value)
                fail(sp + ".target.value", "required: set value or averageValue");
            out.target = value_target(t);
            break;
        }
        case MetricType::external: {
            read_metric_identifier(src, sp, out);
            Target t = read_target_v2(src, sp);
            if (!t.value && !t.average_value)
                fail(sp + ".target.value", "required: set value or averageValue");
            if (t.value && t.average_value)
                fail(sp + ".target.value", "may not be set together with averageValue");
            out.target = value_target(t);
            break;
        }
    }
    return out;
}

// ---- autoscaling/v2beta1, and autoscaling/v1's metrics annotation (the same form) --------

MetricSpec read_metric_v2beta1(const YAML::Node &m, const std::string &path, bool ci) {
    const SourceKind &kind = metric_source(m, path, ci);
    std::string sp = path + "." + kind.key;
    auto src = field(m, kind.key, ci);
    MetricSpec out;
    out.type = kind.metric;
    Target t;
    switch (kind.metric) {
        case MetricType::resource:
        case MetricType::container_resource: {
            out.name = required_text(src, "name", sp + ".name", ci);
            if (kind.metric == MetricType::container_resource)
                out.container = required_text(src, "container", sp + ".container", ci);
            t.utilization =
                opt_integer(src, "targetAverageUtilization", sp + ".targetAverageUtilization", ci);
            t.average_value =
                opt_quantity(src, "targetAverageValue", sp + ".targetAverageValue", ci);
            check_utilization(t.utilization, sp + ".targetAverageUtilization");
            check_positive(t.average_value, sp + ".targetAverageValue");
            if (!t.utilization && !t.average_value)
                fail(sp + ".targetAverageUtilization",
                     "required: set targetAverageUtilization or targetAverageValue");
            if (t.utilization && t.average_value)
                fail(sp + ".targetAverageValue",
                     "may not be set together with targetAverageUtilization");
            out.target = resource_target(t, sp + ".");
            break;
        }
        case MetricType::pods: {
            out.name = required_text(src, "metricName", sp + ".metricName", ci);
            out.selector = selector(src, "selector", sp + ".selector", ci);
            // Not a pointer in this form: absent reads 0, which validation refuses.
            t.average_value =
                opt_quantity(src, "targetAverageValue", sp + ".targetAverageValue", ci).value_or(0);
            check_positive(t.average_value, sp + ".targetAverageValue");
            out.target = make_target(TargetType::average_value, t);
            break;
        }
        case MetricType::object: {
            out.described_object = object_reference(field(src, "target", ci), sp + ".target", ci);
            out.name = required_text(src, "metricName", sp + ".metricName", ci);
            out.selector = selector(src, "selector", sp + ".selector", ci);
            // targetValue is not a pointer either: always set, so it must be positive even
            // beside an averageValue.
            t.value = opt_quantity(src, "targetValue", sp + ".targetValue", ci).value_or(0);
            t.average_value = opt_quantity(src, "averageValue", sp + ".averageValue", ci);
            check_positive(t.value, sp + ".targetValue");
            check_positive(t.average_value, sp + ".averageValue");
            out.target = value_target(t);
            break;
        }
        case MetricType::external: {
            out.name = required_text(src, "metricName", sp + ".metricName", ci);
            out.selector = selector(src, "metricSelector", sp + ".metricSelector", ci);
            t.value = opt_quantity(src, "targetValue", sp + ".targetValue", ci);
            t.average_value =
                opt_quantity(src, "targetAverageValue", sp + ".targetAverageValue", ci);
            check_positive(t.value, sp + ".targetValue");
            check_positive(t.average_value, sp + ".targetAverageValue");
            if (!t.value && !t.average_value)
                fail(sp + ".targetValue", "required: set targetValue or targetAverageValue");
            if (t.value && t.average_value)
                fail(sp + ".targetValue", "may not be set together with targetAverageValue");
            out.target = value_target(t);
            break;
        }
    }
    return out;
}

// ---- behavior ---------------------------------------------------------------------------

// copyHPAScalingRules over the defaults, then validateScalingRules.
ScalingRules read_rules(const YAML::Node &n, const std::string &path, bool ci, ScalingRules rules) {
    if (!present(n)) return rules;
    expect_map(n, path);
    if (auto w = opt_integer(n, "stabilizationWindowSeconds", path + ".stabilizationWindowSeconds",
                             ci)) {
        if (*w < 0) fail(path + ".stabilizationWindowSeconds", "must be at least 0");
        if (*w > kMaxStabilizationWindowSeconds)
            fail(path + ".stabilizationWindowSeconds",
                 "must be at most " + std::to_string(kMaxStabilizationWindowSeconds));
        rules.stabilization_window_seconds = *w;
    }
    auto select = field(n, "selectPolicy", ci);
    if (present(select)) {
        std::string s = text(select, path + ".selectPolicy");
        if (s == "Max") {
            rules.select_policy = SelectPolicy::max;
        } else if (s == "Min") {
            rules.select_policy = SelectPolicy::min;
        } else if (s == "Disabled") {
            rules.select_policy = SelectPolicy::disabled;
        } else {
            fail(path + ".selectPolicy", quote(s) + " is not Max, Min or Disabled");
        }
    }
    auto policies = field(n, "policies", ci);
    if (present(policies)) {
        std::string pp = path + ".policies";
        if (!policies.IsSequence()) fail(pp, "must be a list, not " + describe(policies));
        if (policies.size() == 0) fail(pp, "must specify at least one policy");
        rules.policies.clear();
        for (std::size_t i = 0; i < policies.size(); ++i) {
            std::string ip = pp + "[" + std::to_string(i) + "]";
            const YAML::Node &p = policies[i];
            expect_map(p, ip);
            ScalingPolicy policy;
            std::string type = required_text(p, "type", ip + ".type", ci);
            if (type == "Pods") {
                policy.type = PolicyType::pods;
            } else if (type == "Percent") {
                policy.type = PolicyType::percent;
            } else {
                fail(ip + ".type", quote(type) + " is not Pods or Percent");
            }
            policy.value = opt_integer(p, "value", ip + ".value", ci).value_or(0);
            if (policy.value <= 0) fail(ip + ".value", "must be greater than 0");
            policy.period_seconds =
                opt_integer(p, "periodSeconds", ip + ".periodSeconds", ci).value_or(0);
            if (policy.period_seconds <= 0) fail(ip + ".periodSeconds", "must be greater than 0");
            if (policy.period_seconds > kMaxPeriodSeconds)
                fail(ip + ".periodSeconds", "must be at most " + std::to_string(kMaxPeriodSeconds));
            rules.policies.push_back(policy);
        }
    }
    return rules;
}

// SetDefaults_HorizontalPodAutoscalerBehavior: a written behavior gets every part it
// leaves out. `annotation`: v1's and v2beta1's behavior annotation (the internal type's
// JSON), which names nothing when both directions are absent.
std::optional<Behavior> read_behavior(const YAML::Node &n, const std::string &path,
                                      bool annotation) {
    if (!present(n)) return std::nullopt;
    expect_map(n, path);
    auto up = field(n, "scaleUp", annotation), down = field(n, "scaleDown", annotation);
    if (annotation && !present(up) && !present(down)) return std::nullopt;
    Behavior b;
    b.scale_up = read_rules(up, path + ".scaleUp", annotation, default_scale_up_rules());
    b.scale_down = read_rules(down, path + ".scaleDown", annotation, default_scale_down_rules());
    return b;
}

// An annotation's value, itself JSON text, parsed.
YAML::Node annotation_json(const YAML::Node &annotations, const char *key, std::string &path) {
    path = std::string("metadata.annotations[") + quote(key) + "]";
    auto n = field(annotations, key);
    if (!present(n)) return YAML::Node();
    std::string value = text(n, path);
    try {
        return YAML::Load(value);
    } catch (const YAML::Exception &e) {
        fail(path, "not JSON: " + e.msg);
    }
    return YAML::Node();
}

// ---- the autoscaling/v1 round trip ------------------------------------------------------

bool is_cpu_utilization(const MetricSpec &m) {
    return m.type == MetricType::resource && m.name == "cpu" &&
           m.target.type == TargetType::utilization;
}

MetricSpec cpu_utilization(std::int32_t percent) {
    MetricSpec m;
    m.type = MetricType::resource;
    m.name = "cpu";
    m.target.type = TargetType::utilization;
    m.target.average_utilization = percent;
    return m;
}

// Internal -> v1 -> internal, as the apiserver stores an HPA and the controller reads it:
// the first Resource cpu metric, when it has a utilization target, becomes
// targetCPUUtilizationPercentage and comes back last; every other cpu utilization metric is
// lost; the rest keep their order (the metrics annotation). None at all: CPU at 80%.
std::vector<MetricSpec> through_v1(const std::vector<MetricSpec> &metrics) {
    std::vector<MetricSpec> out;
    for (const auto &m : metrics)
        if (!is_cpu_utilization(m)) out.push_back(m);
    for (const auto &m : metrics) {
        if (m.type != MetricType::resource || m.name != "cpu") continue;
        if (is_cpu_utilization(m)) out.push_back(cpu_utilization(m.target.average_utilization));
        break;
    }
    if (out.empty()) out.push_back(cpu_utilization(kDefaultCpuUtilization));
    return out;
}

// ---- the object -------------------------------------------------------------------------

enum class Version { v1, v2beta1, v2beta2, v2 };

HpaSpec read_hpa(const YAML::Node &obj) {
    if (!obj.IsMap()) fail("", "the HPA must be a mapping (an object), not " + describe(obj));
    auto kind = field(obj, "kind");
    if (!present(kind)) fail("kind", "required");
    if (text(kind, "kind") != "HorizontalPodAutoscaler")
        fail("kind", quote(kind.Scalar()) + " is not HorizontalPodAutoscaler");
    HpaSpec hpa;
    hpa.api_version = required_text(obj, "apiVersion", "apiVersion");
    Version version;
    if (hpa.api_version == "autoscaling/v1") {
        version = Version::v1;
    } else if (hpa.api_version == "autoscaling/v2beta1") {
        version = Version::v2beta1;
    } else if (hpa.api_version == "autoscaling/v2beta2") {
        version = Version::v2beta2;
    } else if (hpa.api_version == "autoscaling/v2") {
        version = Version::v2;
    } else {
        fail("apiVersion", quote(hpa.api_version) +
                               " is not autoscaling/v1, autoscaling/v2beta1, autoscaling/v2beta2 "
                               "or autoscaling/v2");
    }

    auto meta = field(obj, "metadata");
    YAML::Node annotations;
    if (present(meta)) {
        expect_map(meta, "metadata");
        hpa.name = opt_text(meta, "name", "metadata.name");
        hpa.ns = opt_text(meta, "namespace", "metadata.namespace");
        annotations = field(meta, "annotations");
        if (present(annotations)) expect_map(annotations, "metadata.annotations");
    }

    // An HPA always lives in a namespace: kubectl's without -n is "default".
    if (hpa.ns.empty()) hpa.ns = "default";

    auto spec = field(obj, "spec");
    if (!present(spec)) fail("spec", "required");
    expect_map(spec, "spec");
    hpa.scale_target = object_reference(field(spec, "scaleTargetRef"), "spec.scaleTargetRef");
    auto min = opt_integer(spec, "minReplicas", "spec.minReplicas");
    hpa.min_replicas = min.value_or(1);
    auto max = field(spec, "maxReplicas");
    if (!present(max)) fail("spec.maxReplicas", "required");
    hpa.max_replicas = integer(max, "spec.maxReplicas");

    std::vector<MetricSpec> metrics;
    if (version == Version::v1) {
        if (present(field(spec, "metrics")))
            fail("spec.metrics", "not a field of autoscaling/v1 (use autoscaling/v2beta2 or v2)");
        std::string path;
        auto other = annotation_json(annotations, kMetricsAnnotation, path);
        if (present(other)) {
            if (!other.IsSequence()) fail(path, "must be a JSON list of metrics");
            for (std::size_t i = 0; i < other.size(); ++i)
                metrics.push_back(
                    read_metric_v2beta1(other[i], path + "[" + std::to_string(i) + "]", true));
        }
        if (auto cpu = opt_integer(spec, "targetCPUUtilizationPercentage",
                                   "spec.targetCPUUtilizationPercentage")) {
            check_utilization(cpu, "spec.targetCPUUtilizationPercentage");
            metrics.push_back(cpu_utilization(*cpu));
        }
    } else {
        auto list = field(spec, "metrics");
        if (present(list)) {
            if (!list.IsSequence()) fail("spec.metrics", "must be a list, not " + describe(list));
            for (std::size_t i = 0; i < list.size(); ++i) {
                std::string path = "spec.metrics[" + std::to_string(i) + "]";
                metrics.push_back(version == Version::v2beta1
                                      ? read_metric_v2beta1(list[i], path, false)
                                      : read_metric_v2(list[i], path));
            }
        }
    }

    if (version == Version::v1 || version == Version::v2beta1) {
        std::string path;
        auto b = annotation_json(annotations, kBehaviorAnnotation, path);
        hpa.behavior = read_behavior(b, path, true);
    } else {
        if (present(field(spec, "behavior")))
            hpa.behavior = read_behavior(field(spec, "behavior"), "spec.behavior", false);
    }

    // validateHorizontalPodAutoscalerSpec, with the HPAScaleToZero gate's rule for 0.
    if (hpa.min_replicas < 0) fail("spec.minReplicas", "must be at least 0");
    if (hpa.max_replicas < 1) fail("spec.maxReplicas", "must be greater than 0");
    if (hpa.max_replicas < hpa.min_replicas)
        fail("spec.maxReplicas", std::to_string(hpa.max_replicas) +
                                     " must be at least minReplicas (" +
                                     std::to_string(hpa.min_replicas) + ")");
    if (hpa.min_replicas == 0) {
        bool object_or_external = false;
        for (const auto &m : metrics)
            object_or_external |= m.type == MetricType::object || m.type == MetricType::external;
        if (!object_or_external)
            fail("spec.minReplicas", "0 needs at least one Object or External metric");
    }

    // SetDefaults (v2beta1, v2beta2) and v1's conversion default to CPU at 80% when there is
    // no metric; through_v1 does it as well.
    hpa.metrics = through_v1(metrics);
    return hpa;
}

// The objects of a text: its documents, a List's items.
std::vector<YAML::Node> objects_of(const std::vector<YAML::Node> &docs) {
    std::vector<YAML::Node> out;
    for (const auto &d : docs) {
        if (!present(d)) continue;
        auto kind = field(d, "kind");
        auto items = field(d, "items");
        if (kind.IsScalar() && kind.Scalar().size() >= 4 &&
            kind.Scalar().compare(kind.Scalar().size() - 4, 4, "List") == 0 && items.IsSequence()) {
            for (const auto &i : items) out.push_back(i);
        } else {
            out.push_back(d);
        }
    }
    return out;
}

std::string name_of(const YAML::Node &obj) {
    auto n = field(field(obj, "metadata"), "name");
    return n.IsScalar() ? n.Scalar() : std::string();
}

YAML::Node to_yaml(const nlohmann::json &j) {
    switch (j.type()) {
        case nlohmann::json::value_t::object: {
            YAML::Node n(YAML::NodeType::Map);
            for (auto it = j.begin(); it != j.end(); ++it) n[it.key()] = to_yaml(it.value());
            return n;
        }
        case nlohmann::json::value_t::array: {
            YAML::Node n(YAML::NodeType::Sequence);
            for (const auto &e : j) n.push_back(to_yaml(e));
            return n;
        }
        case nlohmann::json::value_t::string: {
            YAML::Node n(j.get<std::string>());
            n.SetTag("!");
            return n;
        }
        case nlohmann::json::value_t::null:
        case nlohmann::json::value_t::discarded:
            return YAML::Node(YAML::NodeType::Null);
        default: {
            YAML::Node n(j.dump());
            n.SetTag("?");
            return n;
        }
    }
}

}  // namespace

std::variant<HpaSpec, std::string> parse_hpa(std::string_view text, std::string_view name) {
    try {
        std::vector<YAML::Node> docs;
        try {
            docs = YAML::LoadAll(std::string(text));
        } catch (const YAML::ParserException &e) {
            return "line " + std::to_string(e.mark.line + 1) + ", column " +
                   std::to_string(e.mark.column + 1) + ": " + e.msg;
        }
        auto objects = objects_of(docs);
        if (objects.empty()) return std::string("no object: expected a HorizontalPodAutoscaler");
        if (objects.size() == 1 && name.empty()) return read_hpa(objects.front());
        std::vector<YAML::Node> hpas;
        std::string names;
        for (const auto &o : objects) {
            auto kind = field(o, "kind");
            if (!kind.IsScalar() || kind.Scalar() != "HorizontalPodAutoscaler") continue;
            hpas.push_back(o);
            names += (names.empty() ? "" : ", ") + quote(name_of(o));
        }
        if (hpas.empty())
            return "kind: none of the " + std::to_string(objects.size()) +
                   " objects is a HorizontalPodAutoscaler";
        if (name.empty() && hpas.size() == 1) return read_hpa(hpas.front());
        if (name.empty())
            return std::to_string(hpas.size()) + " HorizontalPodAutoscalers (" + names +
                   "): pick one by name";
        for (const auto &o : hpas)
            if (name_of(o) == name) return read_hpa(o);
        return "no HorizontalPodAutoscaler named " + quote(name) + " (there are " + names + ")";
    } catch (const SpecFailure &f) {
        return f.message;
    } catch (const YAML::Exception &e) {
        return e.msg;
    }
}

std::variant<HpaSpec, std::string> parse_hpa_json(const nlohmann::json &object) {
    try {
        return read_hpa(to_yaml(object));
    } catch (const SpecFailure &f) {
        return f.message;
    } catch (const YAML::Exception &e) {
        return e.msg;
    }
}

}  // namespace pulse::hpa
