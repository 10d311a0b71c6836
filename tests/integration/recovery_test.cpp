// Finding dead workers and settling their jobs exactly once (FC-01, FC-08), and the
// atomic reservation that makes it possible.

#include <gtest/gtest.h>

#include <unistd.h>

#include <thread>

#include "redis/connection.hpp"
#include "redis/keys.hpp"
#include "redis_server.hpp"
#include "resque/worker.hpp"
#include "worker/held_batch.hpp"
#include "worker/registry.hpp"
#include "worker/reservation.hpp"
#include "worker_fixture.hpp"

namespace resque::test {
namespace {

class Recovery : public ::testing::Test {
 protected:
    RedisServer server;
    redis::Keys keys{"resque"};

    std::string cmd(const std::vector<std::string>& argv) { return server.command(argv); }
    std::string redis_iso(long long seconds_ago) {
        auto now = std::stoll(cmd({"TIME"}).substr(0, cmd({"TIME"}).find('\n')));
        std::time_t t = static_cast<std::time_t>(now - seconds_ago);
        std::tm tm{};
        gmtime_r(&t, &tm);
        char buf[64];
        std::strftime(buf, sizeof buf, "%Y-%m-%dT%H:%M:%S+00:00", &tm);
        return buf;
    }
    // A worker that took `payload` from `queue` with our reservation and then died.
    void dead_cpp_worker(const std::string& id, const std::string& queue,
                         const std::string& payload) {
        cmd({"SADD", "resque:workers", id});
        cmd({"HSET", "resque:cpp:inflight", id,
             worker::encode_held_batch({"7", {{queue, payload}}})});
        cmd({"SET", "resque:worker:" + id,
             R"({"queue":")" + queue + R"(","run_at":"2026-12-03T12:00:00Z","payload":)" + payload +
                 "}"});
    }
};

TEST_F(Recovery, JobOfWorkerWhosePidIsGoneIsRequeuedAtHeadOfItsQueue) {
    std::string host = worker::local_hostname();
    std::string dead = host + ":999999:q";
    cmd({"RPUSH", "resque:queue:q", R"({"class":"Echo","args":["next"]})"});
    dead_cpp_worker(dead, "q", R"({"class":"SleepJob","args":[10]})");

    int pruned = prune_dead_workers(options_for(server), RecoveryPolicy::kRequeue);
    EXPECT_EQ(pruned, 1);
    EXPECT_EQ(cmd({"LINDEX", "resque:queue:q", "0"}), R"({"class":"SleepJob","args":[10]})");
    EXPECT_EQ(cmd({"LLEN", "resque:queue:q"}), "2");
    EXPECT_EQ(cmd({"SISMEMBER", "resque:workers", dead}), "0");
    EXPECT_EQ(cmd({"EXISTS", "resque:worker:" + dead}), "0");
    EXPECT_EQ(cmd({"HLEN", "resque:cpp:inflight"}), "0");
    EXPECT_EQ(cmd({"LLEN", "resque:failed"}), "0");
}

TEST_F(Recovery, FailPolicyRecordsOneDirtyExitFailureInsteadOfRequeueing) {
    std::string dead = worker::local_hostname() + ":999998:q";
    dead_cpp_worker(dead, "q", R"({"class":"SleepJob","args":[10]})");
    EXPECT_EQ(prune_dead_workers(options_for(server), RecoveryPolicy::kFail), 1);
    EXPECT_EQ(cmd({"LLEN", "resque:queue:q"}), "0");
    auto record = nlohmann::json::parse(cmd({"LINDEX", "resque:failed", "0"}));
    EXPECT_EQ(record["exception"], "Resque::PruneDeadWorkerDirtyExit");
    EXPECT_EQ(record["worker"], dead);
    EXPECT_EQ(record["payload"]["class"], "SleepJob");
    EXPECT_EQ(record["backtrace"], nlohmann::json::array());
}

// Several pruners at once (ours in many threads): the job ends up requeued exactly once.
TEST_F(Recovery, ConcurrentPrunersSettleADeadWorkersJobExactlyOnce) {
    for (int round = 0; round < 20; ++round) {
        server.flush();
        std::string dead = worker::local_hostname() + ":99999" + std::to_string(round % 10) + ":q";
        dead_cpp_worker(dead, "q",
                        R"({"class":"SleepJob","args":[)" + std::to_string(round) + "]}");
        std::vector<std::thread> pruners;
        for (int i = 0; i < 4; ++i) {
            pruners.emplace_back([&] {
                // A pruner that lost the lock retries until the worker is gone.
                for (int attempt = 0; attempt < 200; ++attempt) {
                    prune_dead_workers(options_for(server), RecoveryPolicy::kRequeue);
                    if (cmd({"SISMEMBER", "resque:workers", dead}) == "0") break;
                }
            });
        }
        for (auto& t : pruners) t.join();
        EXPECT_EQ(cmd({"LLEN", "resque:queue:q"}), "1") << "round " << round;
        EXPECT_EQ(cmd({"LLEN", "resque:failed"}), "0");
    }
}

// FC-08: expired heartbeats are pruned wherever they run; fresh and heartbeat-less
// workers on other hosts are left alone; only one pruner runs at a time.
TEST_F(Recovery, PrunesByExpiredHeartbeatAndLeavesLiveAndSilentWorkers) {
    cmd({"SADD", "resque:workers", "hostA:111:q", "hostC:333:q", "hostD:444:q"});
    cmd({"HSET", "resque:workers:heartbeat", "hostA:111:q", redis_iso(400), "hostB:222:q",
         redis_iso(400), "hostC:333:q", redis_iso(5)});
    cmd({"SET", "resque:worker:hostA:111:q",
         R"({"queue":"q","run_at":"2026-12-03T12:00:00Z",)"
         R"("payload":{"class":"Echo","args":["orphan"]}})"});

    std::atomic<int> total{0};
    std::thread a([&] { total += prune_dead_workers(options_for(server), RecoveryPolicy::kFail); });
    std::thread b([&] { total += prune_dead_workers(options_for(server), RecoveryPolicy::kFail); });
    a.join();
    b.join();

    EXPECT_EQ(total.load(), 2);  // hostA and the registration-less hostB heartbeat
    EXPECT_EQ(cmd({"SORT", "resque:workers", "ALPHA"}), "hostC:333:q\nhostD:444:q");
    EXPECT_EQ(cmd({"HKEYS", "resque:workers:heartbeat"}), "hostC:333:q");
    ASSERT_EQ(cmd({"LLEN", "resque:failed"}), "1");
    auto record = nlohmann::json::parse(cmd({"LINDEX", "resque:failed", "0"}));
    EXPECT_EQ(record["payload"]["args"][0], "orphan");
    EXPECT_EQ(record["exception"], "Resque::PruneDeadWorkerDirtyExit");
}

TEST_F(Recovery, RubyWorkersOrphanedJobIsRequeuedFromItsResqueRecord) {
    std::string dead = "otherhost:555:q";
    cmd({"SADD", "resque:workers", dead});
    cmd({"HSET", "resque:workers:heartbeat", dead, redis_iso(1000)});
    cmd({"SET", "resque:worker:" + dead,
         R"({"queue":"q","run_at":"2026-12-03T12:00:00Z",)"
         R"("payload":{"class":"Big","args":[12345678901234567890,1.0]}})"});
    EXPECT_EQ(prune_dead_workers(options_for(server), RecoveryPolicy::kRequeue), 1);
    EXPECT_EQ(cmd({"LINDEX", "resque:queue:q", "0"}),
              R"({"class":"Big","args":[12345678901234567890,1.0]})");
}

// Ruby's pruner records our dead worker's job as a failure (GET worker:<id>, RPUSH
// failed, unregister). Ours must not then requeue it too: failed or requeued, never both.
TEST_F(Recovery, JobAlreadySettledByRubysPrunerIsNotRequeuedAgain) {
    std::string dead = worker::local_hostname() + ":999996:q";
    dead_cpp_worker(dead, "q", R"({"class":"SleepJob","args":[1]})");
    cmd({"RPUSH", "resque:failed",
         R"({"failed_at":"2026/12/03 12:00:00 UTC","payload":{"class":"SleepJob","args":[1]},)"
         R"("exception":"Resque::DirtyExit","error":"Job still being processed",)"
         R"("backtrace":[],"worker":")" +
             dead + R"(","queue":"q"})"});
    cmd({"SREM", "resque:workers", dead});
    cmd({"DEL", "resque:worker:" + dead, "resque:worker:" + dead + ":started"});
    cmd({"SADD", "resque:workers", dead});  // still listed somewhere: prune it again
    prune_dead_workers(options_for(server), RecoveryPolicy::kRequeue);
    EXPECT_EQ(cmd({"LLEN", "resque:queue:q"}), "0");
    EXPECT_EQ(cmd({"LLEN", "resque:failed"}), "1");
    EXPECT_EQ(cmd({"HLEN", "resque:cpp:inflight"}), "0");
    EXPECT_EQ(cmd({"SISMEMBER", "resque:workers", dead}), "0");
}

// A worker dies holding a prefetched batch (jobs from two queues) while running the
// second job: every job of the batch is accounted for, in its queue's original order.
class BatchRecovery : public Recovery {
 protected:
    std::string dead = worker::local_hostname() + ":999995:hi,lo";
    void dead_batch_worker(bool record_present) {
        cmd({"RPUSH", "resque:queue:hi", R"({"class":"Later","args":["hi"]})"});
        cmd({"RPUSH", "resque:queue:lo", R"({"class":"Later","args":["lo"]})"});
        cmd({"SADD", "resque:workers", dead});
        worker::HeldBatch batch{"9",
                                {{"hi", R"({"class":"A","args":[1]})"},
                                 {"hi", R"({"class":"A","args":[2]})"},
                                 {"lo", R"({"class":"A","args":[3]})"}}};
        cmd({"HSET", "resque:cpp:inflight", dead, worker::encode_held_batch(batch)});
        cmd({"HSET", "resque:cpp:inflight:running", dead, "1"});
        if (record_present) {
            cmd({"SET", "resque:worker:" + dead,
                 R"({"queue":"hi","run_at":"2026-12-03T12:00:00Z",)"
                 R"("payload":{"class":"A","args":[2]}})"});
        }
    }
    std::string queue(const std::string& name) {
        return cmd({"LRANGE", "resque:queue:" + name, "0", "-1"});
    }
};

TEST_F(BatchRecovery, RequeuePolicyPutsEveryHeldJobBackInOrder) {
    dead_batch_worker(true);
    EXPECT_EQ(prune_dead_workers(options_for(server), RecoveryPolicy::kRequeue), 1);
    EXPECT_EQ(queue("hi"),
              "{\"class\":\"A\",\"args\":[1]}\n{\"class\":\"A\",\"args\":[2]}\n"
              "{\"class\":\"Later\",\"args\":[\"hi\"]}");
    EXPECT_EQ(queue("lo"),
              "{\"class\":\"A\",\"args\":[3]}\n{\"class\":\"Later\",\"args\":[\"lo\"]}");
    EXPECT_EQ(cmd({"LLEN", "resque:failed"}), "0");
    EXPECT_EQ(cmd({"HLEN", "resque:cpp:inflight"}), "0");
    EXPECT_EQ(cmd({"HLEN", "resque:cpp:inflight:running"}), "0");
}

TEST_F(BatchRecovery, FailPolicyFailsOnlyTheRunningJobAndRequeuesTheRest) {
    dead_batch_worker(true);
    EXPECT_EQ(prune_dead_workers(options_for(server), RecoveryPolicy::kFail), 1);
    ASSERT_EQ(cmd({"LLEN", "resque:failed"}), "1");
    auto record = nlohmann::json::parse(cmd({"LINDEX", "resque:failed", "0"}));
    EXPECT_EQ(record["payload"]["args"][0], 2);
    EXPECT_EQ(record["exception"], "Resque::PruneDeadWorkerDirtyExit");
    EXPECT_EQ(queue("hi"),
              "{\"class\":\"A\",\"args\":[1]}\n{\"class\":\"Later\",\"args\":[\"hi\"]}");
    EXPECT_EQ(queue("lo"),
              "{\"class\":\"A\",\"args\":[3]}\n{\"class\":\"Later\",\"args\":[\"lo\"]}");
}

// Ruby's pruner settled the running job from the record (and deleted it); the jobs it
// never knew about must still come back, and the running one must not come back twice.
TEST_F(BatchRecovery, AfterRubysPrunerTookTheRunningJobTheOthersAreRequeued) {
    dead_batch_worker(false);
    prune_dead_workers(options_for(server), RecoveryPolicy::kRequeue);
    EXPECT_EQ(queue("hi"),
              "{\"class\":\"A\",\"args\":[1]}\n{\"class\":\"Later\",\"args\":[\"hi\"]}");
    EXPECT_EQ(queue("lo"),
              "{\"class\":\"A\",\"args\":[3]}\n{\"class\":\"Later\",\"args\":[\"lo\"]}");
    EXPECT_EQ(cmd({"LLEN", "resque:failed"}), "0");
    EXPECT_EQ(cmd({"SISMEMBER", "resque:workers", dead}), "0");
}

// Ruby's pruner ran to the end: the running job failed from the record, the worker
// unregistered, its heartbeat gone. Only our in-flight batch still names the worker;
// its other jobs come back all the same (on this host only while the pid is gone).
TEST_F(BatchRecovery, BatchOfAWorkerRubyUnregisteredCompletelyIsStillRequeued) {
    dead_batch_worker(false);
    cmd({"SREM", "resque:workers", dead});
    std::string live = worker::local_hostname() + ":" + std::to_string(::getpid()) + ":q";
    cmd({"HSET", "resque:cpp:inflight", live,
         worker::encode_held_batch({"3", {{"q", R"({"class":"Mine","args":[]})"}}})});
    EXPECT_EQ(prune_dead_workers(options_for(server), RecoveryPolicy::kRequeue), 1);
    EXPECT_EQ(queue("hi"),
              "{\"class\":\"A\",\"args\":[1]}\n{\"class\":\"Later\",\"args\":[\"hi\"]}");
    EXPECT_EQ(queue("lo"),
              "{\"class\":\"A\",\"args\":[3]}\n{\"class\":\"Later\",\"args\":[\"lo\"]}");
    EXPECT_EQ(cmd({"HEXISTS", "resque:cpp:inflight", dead}), "0");
    // A live process on this host keeps its batch even when it is not registered.
    EXPECT_EQ(cmd({"HEXISTS", "resque:cpp:inflight", live}), "1");
    EXPECT_EQ(cmd({"LLEN", "resque:queue:q"}), "0");
}

TEST_F(BatchRecovery, UnreadableBatchIsLeftForInspectionNotDropped) {
    cmd({"SADD", "resque:workers", dead});
    cmd({"HSET", "resque:cpp:inflight", dead, "9\nhi\n999\nshort"});
    EXPECT_EQ(prune_dead_workers(options_for(server), RecoveryPolicy::kRequeue), 0);
    EXPECT_EQ(cmd({"HGET", "resque:cpp:inflight", dead}), "9\nhi\n999\nshort");
}

TEST_F(Recovery, UnreadableHeartbeatIsNotPrunedByAgeAndDoesNotStopPruning) {
    cmd({"SADD", "resque:workers", "hostX:1:q", "hostY:2:q"});
    cmd({"HSET", "resque:workers:heartbeat", "hostX:1:q", "1764765000", "hostY:2:q",
         redis_iso(1000)});
    EXPECT_EQ(prune_dead_workers(options_for(server), RecoveryPolicy::kFail), 1);
    EXPECT_EQ(cmd({"SMEMBERS", "resque:workers"}), "hostX:1:q");
}

TEST_F(Recovery, PruningIsSkippedWhileAnotherProcessHoldsResquesPruneLock) {
    cmd({"SET", "resque:pruning_dead_workers_in_progress", "vm:1:ruby", "EX", "60"});
    dead_cpp_worker(worker::local_hostname() + ":999997:q", "q", R"({"class":"A","args":[]})");
    EXPECT_EQ(prune_dead_workers(options_for(server), RecoveryPolicy::kRequeue), 0);
    EXPECT_EQ(cmd({"GET", "resque:pruning_dead_workers_in_progress"}), "vm:1:ruby");
}

// A pruner SIGKILLed while it held the prune lock must not stop recovery for the lock's
// 60 s: a lock naming a process of this host that is gone is taken over, one naming a
// live process (or another host, whose processes cannot be checked) is respected.
TEST_F(Recovery, PruneLockOfADeadLocalPrunerIsTakenOver) {
    const std::string lock = "resque:pruning_dead_workers_in_progress";
    const std::string host = worker::local_hostname();
    dead_cpp_worker(host + ":999993:q", "q", R"({"class":"A","args":[]})");

    const std::string alive = host + ":" + std::to_string(::getpid()) + ":q";
    cmd({"SET", lock, alive, "EX", "60"});
    EXPECT_EQ(prune_dead_workers(options_for(server), RecoveryPolicy::kRequeue), 0);
    EXPECT_EQ(cmd({"GET", lock}), alive);
    cmd({"SET", lock, "elsewhere.invalid:999992:q", "EX", "60"});
    EXPECT_EQ(prune_dead_workers(options_for(server), RecoveryPolicy::kRequeue), 0);

    cmd({"SET", lock, host + ":999992:q", "EX", "60"});
    EXPECT_EQ(prune_dead_workers(options_for(server), RecoveryPolicy::kRequeue), 1);
    EXPECT_EQ(cmd({"LRANGE", "resque:queue:q", "0", "-1"}), R"({"class":"A","args":[]})");
    EXPECT_EQ(cmd({"EXISTS", lock}), "0");  // released again after the prune
}

// A reply lost after Redis reserved a job must not strand it: the retried call gets the
// same job back instead of a second one.
TEST_F(Recovery, RetriedReservationAfterLostReplyReturnsTheSameJob) {
    cmd({"RPUSH", "resque:queue:q", R"({"class":"A","args":[1]})", R"({"class":"A","args":[2]})"});
    redis::Connection redis(options_for(server));
    worker::Reserver reserver(keys, "h:1:q", FailureBackendKind::kRedis);
    // Simulate the lost reply: reserve through a second reserver sharing the token
    // sequence position (both start at token "1"), then retry with the first.
    worker::Reserver lost(keys, "h:1:q", FailureBackendKind::kRedis);
    auto first = lost.take(redis, {}, 1, {"q"});
    auto retried = reserver.take(redis, {}, 1, {"q"});
    ASSERT_EQ(retried.kind, worker::TakeResult::Kind::kJob);
    ASSERT_EQ(retried.jobs.size(), 1u);
    EXPECT_EQ(retried.jobs[0].payload, first.jobs.at(0).payload);
    EXPECT_EQ(cmd({"LLEN", "resque:queue:q"}), "1");

    worker::BatchSettlement done{retried.token,
                                 {{worker::Settlement::Kind::kDone, retried.token, "q", {}}}};
    auto next = reserver.take(redis, done, 1, {"q"});
    ASSERT_EQ(next.jobs.size(), 1u);
    EXPECT_EQ(next.jobs[0].payload, R"({"class":"A","args":[2]})");
    EXPECT_EQ(cmd({"GET", "resque:stat:processed"}), "1");
}

// The same for a call that settled a batch and reserved the next: the retry neither
// counts the settled jobs twice nor reports them lost, and gets the same new batch.
TEST_F(Recovery, RetriedSettleAndReserveAfterLostReplyIsIdempotent) {
    for (int i = 1; i <= 4; ++i) {
        cmd({"RPUSH", "resque:queue:q", R"({"class":"A","args":[)" + std::to_string(i) + "]}"});
    }
    redis::Connection redis(options_for(server));
    worker::Reserver reserver(keys, "h:1:q", FailureBackendKind::kRedis);
    worker::Reserver lost(keys, "h:1:q", FailureBackendKind::kRedis);
    auto batch = lost.take(redis, {}, 2, {"q"});
    ASSERT_EQ(reserver.take(redis, {}, 2, {"q"}).token, batch.token);
    worker::BatchSettlement settle{batch.token, {}};
    for (const auto& job : batch.jobs) {
        settle.outcomes.push_back({worker::Settlement::Kind::kDone, job.token, job.queue, {}});
    }
    auto first = lost.take(redis, settle, 2, {"q"});
    auto retried = reserver.take(redis, settle, 2, {"q"});
    EXPECT_FALSE(retried.settlement_lost);
    EXPECT_EQ(retried.token, first.token);
    ASSERT_EQ(retried.jobs.size(), 2u);
    EXPECT_EQ(retried.jobs[1].payload, R"({"class":"A","args":[4]})");
    EXPECT_EQ(cmd({"GET", "resque:stat:processed"}), "2");
    EXPECT_EQ(cmd({"LLEN", "resque:queue:q"}), "0");
}

TEST_F(Recovery, RunningJobRecordIsVisibleToResqueToolsWhileHeld) {
    cmd({"RPUSH", "resque:queue:q", R"({"class":"A","args":["x"]})"});
    redis::Connection redis(options_for(server));
    worker::Reserver reserver(keys, "h:1:q", FailureBackendKind::kRedis);
    reserver.take(redis, {}, 1, {"q"});
    auto record = nlohmann::ordered_json::parse(cmd({"GET", "resque:worker:h:1:q"}));
    EXPECT_EQ(record["queue"], "q");
    EXPECT_EQ(record["payload"], nlohmann::ordered_json::parse(R"({"class":"A","args":["x"]})"));
    EXPECT_EQ(record.begin().key(), "queue");
    std::string run_at = record["run_at"];
    EXPECT_EQ(run_at.back(), 'Z');
}

}  // namespace
}  // namespace resque::test
