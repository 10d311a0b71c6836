// The demo: checksum and compress every file of a real directory as background jobs.
//
//   demo REDIS_URL [DIR] [WORKERS]
//
// 1. Enqueues one job per regular file under DIR (default /usr/share/doc) on three
//    queues by file kind, plus a job that fails on purpose (a missing file) and one of
//    a class no worker knows.
// 2. Forks WORKERS worker processes (default: number of cores), each a resque worker
//    with a C++ handler that reads the file, computes its CRC-32 and compresses it with
//    zlib, until the queues are empty.
// 3. Shows progress (done / total, jobs/s) while they run, then a summary with the
//    failures as Resque recorded them.

#include <sys/wait.h>
#include <unistd.h>
#include <zlib.h>

#include <chrono>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <thread>
#include <vector>

#include "resque/client.hpp"
#include "resque/errors.hpp"
#include "resque/logging.hpp"
#include "resque/worker.hpp"

namespace fs = std::filesystem;
using Clock = std::chrono::steady_clock;

namespace {

std::string queue_for(const fs::path& file) {
    auto ext = file.extension().string();
    if (ext == ".gz" || ext == ".bz2" || ext == ".xz" || ext == ".zst") return "compressed";
    if (ext.empty() || ext == ".txt" || ext == ".md" || ext == ".html") return "text";
    return "other";
}

// The job: CRC-32 and deflate of one file. Throws (a job failure) if unreadable.
void checksum_and_compress(const resque::JobContext& job) {
    std::string path = job.job.args.at(0).get<std::string>();
    std::ifstream in(path, std::ios::binary);
    if (!in) throw std::runtime_error("cannot open " + path + ": " + std::strerror(errno));
    std::string data((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
    auto crc = crc32(0L, reinterpret_cast<const Bytef*>(data.data()), data.size());
    std::vector<Bytef> out(compressBound(data.size()));
    uLongf out_size = out.size();
    if (compress2(out.data(), &out_size, reinterpret_cast<const Bytef*>(data.data()),
                  data.size(), 6) != Z_OK) {
        throw std::runtime_error("zlib could not compress " + path);
    }
    (void)crc;
}

struct Workload {
    std::vector<resque::QueuedJob> jobs;
    std::uintmax_t bytes = 0;
};

Workload scan(const fs::path& dir) {
    Workload work;
    for (const auto& entry : fs::recursive_directory_iterator(
             dir, fs::directory_options::skip_permission_denied)) {
        if (!entry.is_regular_file() || entry.is_symlink()) continue;
        work.bytes += entry.file_size();
        work.jobs.push_back({queue_for(entry.path()),
                             {"Checksum", nlohmann::json::array({entry.path().string()})}});
    }
    work.jobs.push_back({"text", {"Checksum", {"/nonexistent/file-that-fails-on-purpose"}}});
    work.jobs.push_back({"other", {"Transcode", {"video.mp4"}}});
    return work;
}

pid_t start_worker(const resque::RedisOptions& redis) {
    pid_t pid = fork();
    if (pid != 0) return pid;
    resque::HandlerRegistry handlers;
    handlers.add("Checksum", checksum_and_compress);
    resque::WorkerOptions options;
    options.queues = {"text", "compressed", "other"};
    options.until_empty = true;
    resque::configure_logging("error");
    resque::WorkerPool pool(redis, options, std::move(handlers));
    pool.run();
    std::_Exit(0);
}

void show_progress(resque::Client& client, long long total, Clock::time_point start,
                   bool tty) {
    auto done = client.stats().processed;
    double secs = std::chrono::duration<double>(Clock::now() - start).count();
    std::fprintf(stdout, "%s  %lld / %lld jobs  %.0f jobs/s%s", tty ? "\r" : "", done, total,
                 secs > 0 ? done / secs : 0.0, tty ? "   " : "\n");
    std::fflush(stdout);
}

void summary(resque::Client& client, const Workload& work, double secs) {
    auto stats = client.stats();
    std::printf("\n\nDone: %lld jobs (%.1f MB of files) in %.2f s = %.0f jobs/s with resque-cpp "
                "workers\n", stats.processed, work.bytes / 1e6, secs, stats.processed / secs);
    std::printf("Failures: %lld (recorded in Resque's format, see `resque failed list`)\n",
                stats.failed);
    for (const auto& entry : client.failures(0, 10)) {
        std::printf("  - %s on queue %s: %s: %s\n", entry.record.class_name().c_str(),
                    entry.record.queue.c_str(), entry.record.exception.c_str(),
                    entry.record.error.c_str());
    }
}

}  // namespace

int main(int argc, char** argv) try {
    if (argc < 2) {
        std::cerr << "usage: demo REDIS_URL [DIR] [WORKERS]\n";
        return 2;
    }
    auto redis = resque::parse_redis_url(argv[1]);
    fs::path dir = argc > 2 ? argv[2] : "/usr/share/doc";
    int workers = argc > 3 ? std::stoi(argv[3]) : int(std::thread::hardware_concurrency());
    resque::configure_logging("warn");
    resque::Client client(redis);

    Workload work = scan(dir);
    auto start = Clock::now();
    client.enqueue_many(work.jobs);
    std::printf("Enqueued %zu jobs on queues text, compressed, other (files under %s)\n",
                work.jobs.size(), dir.c_str());

    std::vector<pid_t> pids;
    for (int i = 0; i < std::max(1, workers); ++i) pids.push_back(start_worker(redis));
    bool tty = isatty(STDOUT_FILENO);
    std::size_t running = pids.size();
    while (running > 0) {
        show_progress(client, static_cast<long long>(work.jobs.size()), start, tty);
        std::this_thread::sleep_for(std::chrono::milliseconds(tty ? 100 : 1000));
        while (waitpid(-1, nullptr, WNOHANG) > 0) --running;
    }
    show_progress(client, static_cast<long long>(work.jobs.size()), start, tty);
    summary(client, work, std::chrono::duration<double>(Clock::now() - start).count());
    return 0;
} catch (const std::exception& error) {
    std::cerr << "demo: " << error.what() << "\n";
    return 1;
}
