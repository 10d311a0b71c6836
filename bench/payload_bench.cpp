// Cost of the per-job CPU work outside Redis: encoding, decoding and canonicalizing
// payloads, and building keys. Run: build/bench/payload_bench

#include <benchmark/benchmark.h>

#include "json/ruby_json.hpp"
#include "redis/keys.hpp"
#include "resque/job.hpp"

namespace {

const resque::Job kJob{"Archive", {42, "repo/name", {{"fast", true}, {"level", 1.5}}}};

void BM_EncodePayload(benchmark::State& state) {
    for (auto _ : state) benchmark::DoNotOptimize(resque::encode_payload(kJob));
}
BENCHMARK(BM_EncodePayload);

void BM_DecodePayload(benchmark::State& state) {
    std::string payload = resque::encode_payload(kJob);
    for (auto _ : state) benchmark::DoNotOptimize(resque::decode_payload(payload));
}
BENCHMARK(BM_DecodePayload);

void BM_CanonicalizePayload(benchmark::State& state) {
    std::string payload = resque::encode_payload(kJob);
    for (auto _ : state) benchmark::DoNotOptimize(resque::json::canonicalize(payload));
}
BENCHMARK(BM_CanonicalizePayload);

void BM_QueueKey(benchmark::State& state) {
    resque::redis::Keys keys("resque");
    for (auto _ : state) benchmark::DoNotOptimize(keys.queue("critical"));
}
BENCHMARK(BM_QueueKey);

}  // namespace

BENCHMARK_MAIN();
