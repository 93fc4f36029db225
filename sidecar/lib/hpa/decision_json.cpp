#include "decision_json.h"

#include <cmath>

#include "quantity.h"

namespace pulse::hpa {
namespace {

using json = nlohmann::ordered_json;

json condition_json(const Condition &c) {
    return {{"type", c.type}, {"status", c.status}, {"reason", c.reason}, {"message", c.message}};
}

json metric_json(const MetricResult &r) {
    const MetricSpec &m = r.spec;
    json out = json::object();
    out["type"] = metric_type_name(m.type);
    out["name"] = m.name;
    if (m.type == MetricType::container_resource) out["container"] = m.container;
    if (m.type == MetricType::object) {
        out["describedObject"] = {{"apiVersion", m.described_object.api_version},
                                  {"kind", m.described_object.kind},
                                  {"name", m.described_object.name}};
    }
    if (!m.selector.empty()) {
        auto parsed = json::parse(m.selector, nullptr, false);
        out["selector"] = parsed.is_discarded() ? json(m.selector) : parsed;
    }
    out["target"] = target_json(m.target);
    if (r.ok) {
        out["proposal"] = r.proposal;
        json current = json::object();
        if (r.current_average_utilization)
            current["averageUtilization"] = *r.current_average_utilization;
        if (r.current_average_value_milli)
            current["averageValue"] = format_milli(*r.current_average_value_milli);
        if (r.current_value_milli) current["value"] = format_milli(*r.current_value_milli);
        out["current"] = current;
    } else {
        out["error"] = r.error;
        if (!r.failure.reason.empty()) out["reason"] = r.failure.reason;
    }
    return out;
}

}  // namespace

const char *metric_type_name(MetricType type) {
    switch (type) {
        case MetricType::resource:
            return "Resource";
        case MetricType::container_resource:
            return "ContainerResource";
        case MetricType::pods:
            return "Pods";
        case MetricType::object:
            return "Object";
        case MetricType::external:
            return "External";
    }
    return "Unknown";
}

const char *target_type_name(TargetType type) {
    switch (type) {
        case TargetType::utilization:
            return "Utilization";
        case TargetType::average_value:
            return "AverageValue";
        case TargetType::value:
            return "Value";
    }
    return "Unknown";
}

json target_json(const MetricTarget &target) {
    json out = {{"type", target_type_name(target.type)}};
    switch (target.type) {
        case TargetType::utilization:
            out["averageUtilization"] = target.average_utilization;
            break;
        case TargetType::average_value:
            out["averageValue"] = format_milli(target.average_value_milli);
            break;
        case TargetType::value:
            out["value"] = format_milli(target.value_milli);
            break;
    }
    return out;
}

json decision_json(const Decision &d) {
    json out = json::object();
    out["desiredReplicas"] = d.desired_replicas;
    out["currentReplicas"] = d.current_replicas;
    out["rescale"] = d.rescale;
    json metrics = json::array();
    for (const auto &m : d.metrics) metrics.push_back(metric_json(m));
    out["metrics"] = metrics;
    // No limit: the controller stopped before its normalization (scaling disabled, a count
    // out of range, every metric failed), so there is no proposal either.
    if (d.limit_reason.empty() && d.limit_message.empty()) {
        out["proposedReplicas"] = nullptr;
        out["stabilizedReplicas"] = nullptr;
        out["limit"] = nullptr;
    } else {
        out["proposedReplicas"] = d.proposed_replicas;
        out["stabilizedReplicas"] = d.stabilized_replicas;
        out["limit"] = {{"reason", d.limit_reason}, {"message", d.limit_message}};
    }
    json conditions = json::array();
    for (const auto &c : d.conditions) conditions.push_back(condition_json(c));
    out["conditions"] = conditions;
    if (d.recorded_recommendation) {
        out["recordedRecommendation"] = {{"time", seconds_json(d.recorded_recommendation->time)},
                                         {"replicas", d.recorded_recommendation->replicas}};
    } else {
        out["recordedRecommendation"] = nullptr;
    }
    if (d.recorded_scale_event) {
        out["recordedScaleEvent"] = {
            {"time", seconds_json(d.recorded_scale_event->time)},
            {"change", d.recorded_scale_event->change},
            {"direction", d.desired_replicas > d.current_replicas ? "up" : "down"}};
    } else {
        out["recordedScaleEvent"] = nullptr;
    }
    return out;
}

json seconds_json(double t) {
    if (std::isfinite(t) && t == std::floor(t) && std::fabs(t) < 9e15)
        return static_cast<std::int64_t>(t);
    return t;
}

}  // namespace pulse::hpa
