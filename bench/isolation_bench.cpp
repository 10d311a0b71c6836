// Per-job cost of each isolation mode, without Redis: worker::perform() on one reserved
// job, as the worker loop calls it, with a handler that does nothing. The difference
// between modes is the isolation overhead a job pays.
//
//   build/bench/isolation_bench                  # thread, fork, exec (/bin/true)
//
// BM_Perform/thread:  the handler runs in the calling thread.
// BM_Perform/fork:    a child is forked per job (pipes, fork, watch, reap).
// BM_Perform/exec:    `/bin/true` is run per job (PATH lookup, fork, exec, args on stdin).
// BM_PerformForkLargeHeap: fork with 256 MiB of touched heap in the worker, because the
//                      cost of fork grows with the worker's page tables.

#include <benchmark/benchmark.h>

#include <cstring>
#include <memory>
#include <string>

#include "resque/handler.hpp"
#include "resque/hooks.hpp"
#include "worker/perform.hpp"

namespace {

using resque::HandlerRegistry;
using resque::Isolation;
using resque::JobContext;
using resque::worker::Settlement;

HandlerRegistry registry() {
    HandlerRegistry handlers;
    handlers.add("Thread", [](const JobContext&) {}, {Isolation::kThread, {}, {}});
    handlers.add("Fork", [](const JobContext&) {}, {Isolation::kFork, {}, {}});
    handlers.add_program("Exec", resque::ProgramSpec{{"/bin/true"}, {}, {}, {}, {}});
    return handlers;
}

void perform_each(benchmark::State& state, const std::string& job_class) {
    static const HandlerRegistry handlers = registry();
    static const resque::Hooks hooks;
    static const std::string worker_id = "bench:1:q";
    const resque::worker::Reservation job{"t", "q",
                                          R"({"class":")" + job_class + R"(","args":[1,"x"]})"};
    for (auto _ : state) {
        const Settlement outcome = resque::worker::perform({handlers, hooks, worker_id}, job);
        if (outcome.kind != Settlement::Kind::kDone) {
            state.SkipWithError(("job failed: " + outcome.failure_json).c_str());
            return;
        }
    }
}

void BM_Perform(benchmark::State& state) {
    static const char* const kClasses[] = {"Thread", "Fork", "Exec"};
    perform_each(state, kClasses[state.range(0)]);
}
BENCHMARK(BM_Perform)
    ->Arg(0)
    ->Arg(1)
    ->Arg(2)
    ->ArgName("mode 0=thread 1=fork 2=exec")
    ->UseRealTime();

void BM_PerformForkLargeHeap(benchmark::State& state) {
    constexpr std::size_t kHeap = 256u << 20;
    const auto heap = std::make_unique<char[]>(kHeap);
    std::memset(heap.get(), 1, kHeap);
    benchmark::DoNotOptimize(heap.get());
    perform_each(state, "Fork");
}
BENCHMARK(BM_PerformForkLargeHeap)->UseRealTime();

}  // namespace

BENCHMARK_MAIN();
