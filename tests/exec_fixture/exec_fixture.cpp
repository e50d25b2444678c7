// A stand-in binary for the exec tests. The first argument picks a behaviour:
//   record [args...]   append {"argv", "stdin"} as one JSON line to $RECORD_FILE (when set),
//                      print the same line, exit with $FIXTURE_EXIT (default 0)
//   print TEXT         print TEXT and a newline
//   env                print the environment, one NAME=value a line
//   lines N            print N lines "line <i>", then exit 0
//   lines-wait N       print N lines, then block until killed
//   flood N            print N bytes ("x", a newline every 100), then exit 0
//   fail CODE TEXT     print TEXT to stderr, exit CODE
//   fork-wait          fork a child (same group); both write their pids to $PID_FILE, block
//   fork-exit          fork a child that keeps stdout open and blocks; the parent exits 0
//   ignore-term        ignore SIGTERM, write the pid to $PID_FILE, block
//   cat                copy stdin to stdout
#include <signal.h>
#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <iostream>
#include <iterator>
#include <nlohmann/json.hpp>
#include <string>

extern char** environ;  // NOLINT: POSIX

namespace {

[[noreturn]] void block() {
  while (true) ::pause();
}

void write_pid(const char* file) {
  if (file == nullptr) return;
  std::ofstream out(file, std::ios::app);
  out << ::getpid() << '\n';
}

int record(int argc, char** argv) {
  nlohmann::json line{{"argv", nlohmann::json::array()}};
  for (int i = 2; i < argc; ++i) line["argv"].push_back(argv[i]);
  line["stdin"] =
      std::string(std::istreambuf_iterator<char>(std::cin), std::istreambuf_iterator<char>());
  const auto text = line.dump();
  if (const char* file = std::getenv("RECORD_FILE")) {
    std::ofstream out(file, std::ios::app);
    out << text << '\n';
  }
  std::cout << text << '\n';
  const char* code = std::getenv("FIXTURE_EXIT");
  return code != nullptr ? std::atoi(code) : 0;
}

}  // namespace

int main(int argc, char** argv) {
  if (argc < 2) return 2;
  const std::string mode = argv[1];
  const auto number = [&](int i) { return argc > i ? std::atol(argv[i]) : 0L; };
  if (mode == "record") return record(argc, argv);
  if (mode == "print" && argc > 2) {
    std::cout << argv[2] << '\n';
    return 0;
  }
  if (mode == "env") {
    for (char** e = environ; *e != nullptr; ++e) std::cout << *e << '\n';
    return 0;
  }
  if (mode == "lines" || mode == "lines-wait") {
    for (long i = 1; i <= number(2); ++i) std::cout << "line " << i << '\n';
    std::cout.flush();
    if (mode == "lines-wait") block();
    return 0;
  }
  if (mode == "flood") {
    for (long i = 0; i < number(2); ++i) std::cout.put(i % 100 == 99 ? '\n' : 'x');
    return 0;
  }
  if (mode == "fail" && argc > 3) {
    std::cerr << argv[3] << '\n';
    return static_cast<int>(number(2));
  }
  if (mode == "fork-wait" || mode == "fork-exit") {
    const char* pid_file = std::getenv("PID_FILE");
    int ready[2];
    if (::pipe(ready) != 0) return 3;
    if (::fork() == 0) {
      write_pid(pid_file);
      [[maybe_unused]] const auto n = ::write(ready[1], "x", 1);
      block();
    }
    char byte = 0;
    [[maybe_unused]] const auto n = ::read(ready[0], &byte, 1);  // the child's pid is written
    if (mode == "fork-exit") return 0;
    write_pid(pid_file);
    block();
  }
  if (mode == "ignore-term") {
    ::signal(SIGTERM, SIG_IGN);  // NOLINT(cert-err33-c)
    write_pid(std::getenv("PID_FILE"));
    std::cout << "ready" << std::endl;
    block();
  }
  if (mode == "cat") {
    std::cout << std::cin.rdbuf();
    return 0;
  }
  return 2;
}
