// Munin field names for names pulse does not choose (nginx server names, label values): what
// munin accepts (Munin::Plugin's clean_fieldname: [A-Za-z_][A-Za-z0-9_]*, never "root"),
// unique within a graph, and the same for the same name on every run (a field's name is its
// RRD file: a name that moved would graph one server's history under another's).
#pragma once

#include <map>
#include <string>
#include <string_view>

namespace pulse::sidecar {

// clean_fieldname's rule; when it had to change a character, a short hash of the original is
// appended so that "a.b" and "a-b" (both "a_b" when cleaned) stay apart, on every run alike.
std::string munin_field_name(std::string_view original);

// Field names for one graph: munin_field_name's, with "_2", "_3"... in the unlikely case that
// two still meet (a name that is literally another's cleaned form and hash).
class MuninFields {
  public:
    const std::string &field(const std::string &original);

  private:
    std::map<std::string, std::string> by_original_;
    std::map<std::string, std::string> taken_;  // field -> original
};

}  // namespace pulse::sidecar
