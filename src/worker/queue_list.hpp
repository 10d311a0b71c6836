#pragma once

// A worker's queue list with Resque's priority rule (../shared/PROTOCOL.md 1.2): queues
// are tried in listed order; `*` and globs expand against the registered queue names,
// each expansion sorted alphabetically, duplicates dropped; `!pattern` excludes matches
// wherever it appears; in a list with any glob, literal names count only if registered.

#include <string>
#include <string_view>
#include <vector>

namespace resque::worker {

class QueueList {
   public:
    /// Throws ConfigError for an empty list, an empty name, or a name containing `,`
    /// or `:` (both would corrupt the worker id Resque's tools split).
    explicit QueueList(std::vector<std::string> entries);

    /// True if the list must be re-expanded against `<ns>:queues` (globs or negations).
    [[nodiscard]] bool dynamic() const noexcept { return dynamic_; }
    /// The id part: entries joined by `,`, negations dropped (as Resque does).
    [[nodiscard]] std::string id_part() const;
    /// The queues to try, in order, given the registered queue names.
    [[nodiscard]] std::vector<std::string> expand(const std::vector<std::string>& known) const;
    /// The queues to try when the list is not dynamic.
    [[nodiscard]] const std::vector<std::string>& literal() const noexcept { return positive_; }

   private:
    std::vector<std::string> positive_;
    std::vector<std::string> negative_;
    bool dynamic_ = false;
};

/// Shell-glob match as Ruby's File.fnmatch? without FNM_PATHNAME (`*` crosses `/`,
/// a leading dot is not special), with `{a,b}` alternatives.
[[nodiscard]] bool glob_match(std::string_view pattern, std::string_view name);

}  // namespace resque::worker
