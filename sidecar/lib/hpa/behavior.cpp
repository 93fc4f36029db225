#include "behavior.h"

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <limits>

namespace pulse::hpa {
namespace {

constexpr std::int32_t kMinInt32 = std::numeric_limits<std::int32_t>::min();
constexpr std::int32_t kMaxInt32 = std::numeric_limits<std::int32_t>::max();

// The controller's counts are Go int32s: sums wrap, and a float64 converts by truncation
// (amd64's CVTTSD2SL: NaN or out of range gives the "integer indefinite" MinInt32).
std::int32_t add32(std::int32_t a, std::int32_t b) {
    return static_cast<std::int32_t>(static_cast<std::uint32_t>(a) + static_cast<std::uint32_t>(b));
}
std::int32_t sub32(std::int32_t a, std::int32_t b) {
    return static_cast<std::int32_t>(static_cast<std::uint32_t>(a) - static_cast<std::uint32_t>(b));
}
std::int32_t to_int32(double v) {
    if (!(v > -2147483649.0 && v < 2147483648.0)) return kMinInt32;
    return static_cast<std::int32_t>(v);
}

}  // namespace

ScalingRules default_scale_up_rules() {
    ScalingRules r;
    r.stabilization_window_seconds = 0;
    r.select_policy = SelectPolicy::max;
    r.policies = {{PolicyType::pods, 4, 15}, {PolicyType::percent, 100, 15}};
    return r;
}

ScalingRules default_scale_down_rules() {
    ScalingRules r;
    r.stabilization_window_seconds = std::nullopt;
    r.select_policy = SelectPolicy::max;
    r.policies = {{PolicyType::percent, 100, 15}};
    return r;
}

std::int32_t scale_up_window_seconds(const Behavior &behavior) {
    return behavior.scale_up.stabilization_window_seconds.value_or(0);
}

std::int32_t scale_down_window_seconds(const Behavior &behavior, const ControllerOptions &options) {
    if (behavior.scale_down.stabilization_window_seconds)
        return *behavior.scale_down.stabilization_window_seconds;
    // A Duration's Seconds() converted to int32: truncated.
    return to_int32(options.downscale_stabilization_window);
}

std::int32_t scale_up_limit_without_behavior(std::int32_t current) {
    return to_int32(std::max(2.0 * static_cast<double>(current), 4.0));
}

std::int32_t stabilize_without_behavior(const std::vector<TimedReplicas> &recommendations,
                                        std::int32_t desired, double window_seconds, double now) {
    std::int32_t result = desired;
    const double cutoff = now - window_seconds;
    for (const TimedReplicas &r : recommendations) {
        if (r.time < cutoff) continue;
        result = std::max(result, r.replicas);
    }
    return result;
}

Limited limit_without_behavior(std::int32_t current, std::int32_t desired,
                               std::int32_t min_replicas, std::int32_t max_replicas) {
    const std::int32_t up_limit = scale_up_limit_without_behavior(current);
    Limited upper;
    if (max_replicas > up_limit) {
        upper = {up_limit, "ScaleUpLimit",
                 "the desired replica count is increasing faster than the maximum scale rate"};
    } else {
        upper = {max_replicas, "TooManyReplicas",
                 "the desired replica count is more than the maximum replica count"};
    }
    if (desired < min_replicas) {
        return {min_replicas, "TooFewReplicas",
                "the desired replica count is less than the minimum replica count"};
    }
    if (desired > upper.replicas) return upper;
    return {desired, "DesiredWithinRange", "the desired count is within the acceptable range"};
}

std::int32_t replicas_change_in_period(std::int32_t period_seconds,
                                       const std::vector<ScaleEvent> &events, double now) {
    const double cutoff = now - static_cast<double>(period_seconds);
    std::int32_t sum = 0;
    for (const ScaleEvent &e : events) {
        if (e.time > cutoff) sum = add32(sum, e.change);
    }
    return sum;
}

std::int32_t scale_up_limit(std::int32_t current, const std::vector<ScaleEvent> &scale_up_events,
                            const ScalingRules &rules, double now) {
    if (rules.select_policy == SelectPolicy::disabled) return current;
    // Select Min takes the smallest of the policies' counts, Max the largest.
    const bool take_min = rules.select_policy == SelectPolicy::min;
    std::int32_t result = take_min ? kMaxInt32 : kMinInt32;
    for (const ScalingPolicy &p : rules.policies) {
        const std::int32_t start =
            sub32(current, replicas_change_in_period(p.period_seconds, scale_up_events, now));
        std::int32_t proposed = 0;
        if (p.type == PolicyType::pods) {
            proposed = add32(start, p.value);
        } else {
            // Rounded up, so that a small percentage still adds a pod.
            proposed = to_int32(
                std::ceil(static_cast<double>(start) * (1 + static_cast<double>(p.value) / 100)));
        }
        result = take_min ? std::min(result, proposed) : std::max(result, proposed);
    }
    return result;
}

std::int32_t scale_down_limit(std::int32_t current,
                              const std::vector<ScaleEvent> &scale_down_events,
                              const ScalingRules &rules, double now) {
    if (rules.select_policy == SelectPolicy::disabled) return current;
    // Removing the fewest pods (Min) keeps the largest count; Max keeps the smallest.
    const bool take_min_change = rules.select_policy == SelectPolicy::min;
    std::int32_t result = take_min_change ? kMinInt32 : kMaxInt32;
    for (const ScalingPolicy &p : rules.policies) {
        const std::int32_t start =
            add32(current, replicas_change_in_period(p.period_seconds, scale_down_events, now));
        std::int32_t proposed = 0;
        if (p.type == PolicyType::pods) {
            proposed = sub32(start, p.value);
        } else {
            proposed =
                to_int32(static_cast<double>(start) * (1 - static_cast<double>(p.value) / 100));
        }
        result = take_min_change ? std::max(result, proposed) : std::min(result, proposed);
    }
    return result;
}

Limited stabilize_with_behavior(const std::vector<TimedReplicas> &recommendations,
                                std::int32_t current, std::int32_t desired,
                                std::int32_t up_window_seconds, std::int32_t down_window_seconds,
                                double now) {
    Limited out;
    out.replicas = desired;
    const bool up = desired >= current;
    std::int32_t window = 0;
    if (up) {
        window = up_window_seconds;
        out.reason = "ScaleUpStabilized";
        out.message =
            "recent recommendations were lower than current one, applying the lowest recent "
            "recommendation";
    } else {
        window = down_window_seconds;
        out.reason = "ScaleDownStabilized";
        out.message =
            "recent recommendations were higher than current one, applying the highest recent "
            "recommendation";
    }
    const double cutoff = now - static_cast<double>(window);
    for (const TimedReplicas &r : recommendations) {
        if (!(r.time > cutoff)) continue;
        out.replicas = up ? std::min(out.replicas, r.replicas) : std::max(out.replicas, r.replicas);
    }
    return out;
}

Limited limit_with_behavior(std::int32_t current, std::int32_t desired, std::int32_t min_replicas,
                            std::int32_t max_replicas, const Behavior &behavior,
                            const std::vector<ScaleEvent> &scale_up_events,
                            const std::vector<ScaleEvent> &scale_down_events, double now) {
    if (desired > current) {
        // Past events may put the policies' count below the current one: hold, not shrink.
        const std::int32_t limit =
            std::max(scale_up_limit(current, scale_up_events, behavior.scale_up, now), current);
        Limited upper;
        if (max_replicas > limit) {
            upper = {limit, "ScaleUpLimit",
                     "the desired replica count is increasing faster than the maximum scale rate"};
        } else {
            upper = {max_replicas, "TooManyReplicas",
                     "the desired replica count is more than the maximum replica count"};
        }
        if (desired > upper.replicas) return upper;
    } else if (desired < current) {
        const std::int32_t limit = std::min(
            scale_down_limit(current, scale_down_events, behavior.scale_down, now), current);
        Limited lower;
        if (min_replicas < limit) {
            lower = {limit, "ScaleDownLimit",
                     "the desired replica count is decreasing faster than the maximum scale rate"};
        } else {
            lower = {min_replicas, "TooFewReplicas",
                     "the desired replica count is less than the minimum replica count"};
        }
        if (desired < lower.replicas) return lower;
    }
    return {desired, "DesiredWithinRange", "the desired count is within the acceptable range"};
}

std::int32_t longest_policy_period(const ScalingRules &rules) {
    std::int32_t longest = 0;
    for (const ScalingPolicy &p : rules.policies) longest = std::max(longest, p.period_seconds);
    return longest;
}

void store_recommendation(std::vector<TimedReplicas> &recommendations, TimedReplicas recommendation,
                          double obsolete_before) {
    std::size_t slot = recommendations.size();
    for (std::size_t i = 0; i < recommendations.size(); ++i) {
        if (recommendations[i].time < obsolete_before) slot = i;
    }
    if (slot < recommendations.size()) {
        recommendations[slot] = recommendation;
    } else {
        recommendations.push_back(recommendation);
    }
}

void store_scale_event(std::vector<ScaleEvent> &events, ScaleEvent event, const ScalingRules &rules,
                       double now) {
    const double cutoff = now - static_cast<double>(longest_policy_period(rules));
    std::size_t slot = events.size();
    for (std::size_t i = 0; i < events.size(); ++i) {
        if (events[i].time < cutoff) slot = i;
    }
    if (slot < events.size()) {
        events[slot] = event;
    } else {
        events.push_back(event);
    }
}

}  // namespace pulse::hpa
