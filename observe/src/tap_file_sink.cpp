#include <fcntl.h>
#include <spdlog/spdlog.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <stdexcept>

#include "manifold/observe/tap.hpp"

namespace manifold::observe {

tap_file_sink::tap_file_sink(std::string path, std::uint64_t max_bytes, std::size_t files)
    : path_(std::move(path)), max_bytes_(std::max<std::uint64_t>(max_bytes, 1)),
      files_(std::max<std::size_t>(files, 1)) {
  open_file();
  if (fd_ < 0) {
    throw std::runtime_error("cannot open the trace file " + path_ + ": " + std::strerror(errno));
  }
}

tap_file_sink::~tap_file_sink() {
  if (fd_ >= 0) ::close(fd_);
}

void tap_file_sink::open_file() {
  fd_ = ::open(path_.c_str(), O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0600);
  size_ = 0;
  if (fd_ < 0) return;
  struct stat st {};
  if (::fstat(fd_, &st) == 0) size_ = static_cast<std::uint64_t>(st.st_size);
}

// F.(files-1) goes, F.i -> F.(i+1), F -> F.1, a new F. With files == 1, F starts over.
void tap_file_sink::rotate() {
  if (fd_ >= 0) ::close(fd_);
  fd_ = -1;
  if (files_ == 1) {
    ::unlink(path_.c_str());
  } else {
    const auto numbered = [this](std::size_t i) { return path_ + "." + std::to_string(i); };
    ::unlink(numbered(files_ - 1).c_str());
    for (std::size_t i = files_ - 1; i > 1; --i) {
      ::rename(numbered(i - 1).c_str(), numbered(i).c_str());
    }
    ::rename(path_.c_str(), numbered(1).c_str());
  }
  open_file();
}

void tap_file_sink::write(const tap_record& record) {
  const auto line = to_json_line(record);
  const std::lock_guard lock(mutex_);
  if (failed_) return;
  if (size_ > 0 && size_ + line.size() > max_bytes_) rotate();
  std::size_t done = 0;
  while (fd_ >= 0 && done < line.size()) {
    const auto n = ::write(fd_, line.data() + done, line.size() - done);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) break;
    done += static_cast<std::size_t>(n);
  }
  size_ += done;
  if (done < line.size()) {
    failed_ = true;
    spdlog::error("tap: cannot write the trace file {}: {}; no more records go there", path_,
                  fd_ < 0 ? "it cannot be opened" : std::strerror(errno));
  }
}

}  // namespace manifold::observe
