#include "process_collector.hpp"

#include <sys/resource.h>
#include <unistd.h>

#include <charconv>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>

namespace manifold::observe {

namespace {

std::optional<std::string> read_file(const char* path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return std::nullopt;
  std::ostringstream text;
  text << in.rdbuf();
  return text.str();
}

std::optional<double> number(std::string_view field) {
  unsigned long long v = 0;
  const auto [end, ec] = std::from_chars(field.data(), field.data() + field.size(), v);
  if (ec != std::errc() || end != field.data() + field.size()) return std::nullopt;
  return static_cast<double>(v);
}

// Seconds since the epoch at boot: the `btime` line of /proc/stat.
double boot_time() {
  const auto stat = read_file("/proc/stat");
  if (!stat) return 0;
  const auto at = stat->find("\nbtime ");
  if (at == std::string::npos) return 0;
  const auto start = at + 7;
  const auto end = stat->find('\n', start);
  return number(std::string_view(*stat).substr(start, end - start)).value_or(0);
}

prometheus::MetricFamily gauge(const char* name, const char* help, double value,
                               prometheus::MetricType type = prometheus::MetricType::Gauge) {
  prometheus::MetricFamily f;
  f.name = name;
  f.help = help;
  f.type = type;
  prometheus::ClientMetric m;
  if (type == prometheus::MetricType::Counter) {
    m.counter.value = value;
  } else {
    m.gauge.value = value;
  }
  f.metric.push_back(std::move(m));
  return f;
}

}  // namespace

std::optional<process_sample> parse_proc_stat(std::string_view stat, double ticks_per_second,
                                              double page_size, double boot_time_seconds) {
  const auto close = stat.rfind(')');
  if (close == std::string_view::npos || ticks_per_second <= 0) return std::nullopt;
  // Field 3 (state) is the first after ") "; field n is at index n - 3.
  std::vector<std::string_view> fields;
  std::size_t at = close + 1;
  while (at < stat.size()) {
    while (at < stat.size() && (stat[at] == ' ' || stat[at] == '\n')) ++at;
    const auto start = at;
    while (at < stat.size() && stat[at] != ' ' && stat[at] != '\n') ++at;
    if (at > start) fields.push_back(stat.substr(start, at - start));
  }
  if (fields.size() < 22) return std::nullopt;
  const auto utime = number(fields[11]);
  const auto stime = number(fields[12]);
  const auto start = number(fields[19]);
  const auto vsize = number(fields[20]);
  const auto rss = number(fields[21]);
  if (!utime || !stime || !start || !vsize || !rss) return std::nullopt;
  process_sample out;
  out.cpu_seconds = (*utime + *stime) / ticks_per_second;
  out.virtual_bytes = *vsize;
  out.resident_bytes = *rss * page_size;
  out.start_time_seconds = boot_time_seconds + *start / ticks_per_second;
  return out;
}

std::vector<prometheus::MetricFamily> process_collector::Collect() const {
  std::vector<prometheus::MetricFamily> out;
  const auto stat = read_file("/proc/self/stat");
  if (stat) {
    const auto sample = parse_proc_stat(*stat, static_cast<double>(sysconf(_SC_CLK_TCK)),
                                        static_cast<double>(sysconf(_SC_PAGESIZE)), boot_time());
    if (sample) {
      out.push_back(gauge("process_cpu_seconds_total", "CPU time the process used (user + system), in seconds",
                          sample->cpu_seconds, prometheus::MetricType::Counter));
      out.push_back(gauge("process_resident_memory_bytes", "Resident set size, in bytes",
                          sample->resident_bytes));
      out.push_back(gauge("process_virtual_memory_bytes", "Virtual memory size, in bytes",
                          sample->virtual_bytes));
      out.push_back(gauge("process_start_time_seconds",
                          "When the process started, in seconds since the Unix epoch",
                          sample->start_time_seconds));
    }
  }
  std::error_code ec;
  double fds = 0;
  for (std::filesystem::directory_iterator it("/proc/self/fd", ec), end; !ec && it != end;
       it.increment(ec)) {
    fds += 1;
  }
  if (!ec) out.push_back(gauge("process_open_fds", "File descriptors open now", fds));
  rlimit limit{};
  if (getrlimit(RLIMIT_NOFILE, &limit) == 0) {
    out.push_back(gauge("process_max_fds", "Limit on open file descriptors (RLIMIT_NOFILE)",
                        limit.rlim_cur == RLIM_INFINITY ? 0.0 : static_cast<double>(limit.rlim_cur)));
  }
  return out;
}

}  // namespace manifold::observe
