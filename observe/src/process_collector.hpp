#pragma once

// Private to observe/: the standard process metrics, read from /proc when scraped.

#include <prometheus/collectable.h>
#include <prometheus/metric_family.h>

#include <optional>
#include <string_view>
#include <vector>

namespace manifold::observe {

struct process_sample {
  double cpu_seconds = 0;        // user + system
  double resident_bytes = 0;
  double virtual_bytes = 0;
  double start_time_seconds = 0;  // since the Unix epoch
  double open_fds = 0;
  double max_fds = 0;
};

// Parses the text of /proc/<pid>/stat (fields after the command name, which may itself hold
// spaces and parentheses) given the clock tick rate, page size and boot time.
std::optional<process_sample> parse_proc_stat(std::string_view stat, double ticks_per_second,
                                              double page_size, double boot_time_seconds);

// process_cpu_seconds_total, process_resident_memory_bytes, process_virtual_memory_bytes,
// process_start_time_seconds, process_open_fds, process_max_fds. A file that cannot be read
// leaves its metrics out of that scrape. Thread: any.
class process_collector final : public prometheus::Collectable {
 public:
  std::vector<prometheus::MetricFamily> Collect() const override;
};

}  // namespace manifold::observe
