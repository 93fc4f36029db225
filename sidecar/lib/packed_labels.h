// A label set packed in one string, for the window's series (series_window.h): for each
// label in order, the lengths of its name and value (varints) and their bytes. A series of
// six labels costs about 110 bytes this way, where a promql::Labels (a vector of string
// pairs) costs about 450; the evaluator gets promql::Labels unpacked only for the series it
// selects, for the length of one evaluation.
#pragma once

#include <compare>
#include <cstddef>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <utility>

#include "promql/evaluator.h"

namespace pulse::sidecar {

using LabelView = std::pair<std::string_view, std::string_view>;

class PackedLabels {
  public:
    PackedLabels() = default;
    explicit PackedLabels(std::span<const LabelView> labels);

    promql::Labels unpack() const;
    // The value of label `name`, if present.
    std::optional<std::string_view> get(std::string_view name) const;
    std::size_t size() const;  // labels
    bool equals(std::span<const LabelView> labels) const;

    // Calls f(name, value) for each label in order; stops when f returns false.
    template <typename F>
    void for_each(F &&f) const {
        std::size_t at = 0;
        while (at < bytes_.size()) {
            const std::string_view name = next(at), value = next(at);
            if (!f(name, value)) return;
        }
    }

    // The order of promql::Labels' operator<: label by label, name then value.
    friend std::strong_ordering operator<=>(const PackedLabels &a, const PackedLabels &b);
    friend bool operator==(const PackedLabels &a, const PackedLabels &b) = default;

  private:
    std::string_view next(std::size_t &at) const;
    std::string bytes_;
};

}  // namespace pulse::sidecar
