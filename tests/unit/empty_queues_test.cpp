// EmptyQueues: which queues a take names, given what earlier takes and push
// notifications said.

#include <gtest/gtest.h>

#include <thread>

#include "worker/empty_queues.hpp"

namespace resque::worker {
namespace {

using Names = std::vector<std::string>;
constexpr auto kLong = std::chrono::hours(1);

TEST(EmptyQueues, WindowIsTheFirstCandidatesInOrderUpToTheLimit) {
    EmptyQueues empty(kLong);
    EXPECT_EQ(empty.window({"a", "b", "c", "d"}, 3), (Names{"a", "b", "c"}));
    EXPECT_EQ(empty.window({"a", "b"}, 8), (Names{"a", "b"}));
}

TEST(EmptyQueues, AFullBatchMarksOnlyTheQueuesBeforeItsLastQueue) {
    EmptyQueues empty(kLong);
    empty.observe({"a", "b", "c", "d"}, 4, 4, "c");
    // a and b gave all they had; c may hold more; d was never looked at.
    EXPECT_EQ(empty.window({"a", "b", "c", "d", "e"}, 8), (Names{"c", "d", "e"}));
}

TEST(EmptyQueues, AShortBatchMarksEveryQueueTried) {
    EmptyQueues empty(kLong);
    empty.observe({"a", "b", "c"}, 4, 3, "c");
    EXPECT_EQ(empty.window({"a", "b", "c", "d"}, 8), (Names{"d"}));
    empty.observe({"d"}, 4, 0, "");
    EXPECT_TRUE(empty.window({"a", "b", "c", "d"}, 8).empty());
}

TEST(EmptyQueues, APushBringsAQueueBackInItsPlace) {
    EmptyQueues empty(kLong);
    empty.observe({"a", "b", "c"}, 1, 0, "");
    empty.pushed("b");
    EXPECT_EQ(empty.window({"a", "b", "c"}, 8), (Names{"b"}));
    empty.pushed("never-seen");
    EXPECT_EQ(empty.window({"a", "b", "c"}, 8), (Names{"b"}));
}

TEST(EmptyQueues, ClearingAndAgeingForgetEverything) {
    EmptyQueues empty(kLong);
    empty.observe({"a", "b"}, 1, 0, "");
    empty.clear();
    EXPECT_EQ(empty.window({"a", "b"}, 8), (Names{"a", "b"}));

    EmptyQueues ageing(std::chrono::nanoseconds(0));
    ageing.observe({"a", "b"}, 1, 0, "");
    std::this_thread::sleep_for(std::chrono::milliseconds(1));
    EXPECT_EQ(ageing.window({"a", "b"}, 8), (Names{"a", "b"}));
}

TEST(EmptyQueues, TakeWindowFitsTheBatchWithinBounds) {
    EXPECT_EQ(take_window(1), 8u);
    EXPECT_EQ(take_window(20), 20u);
    EXPECT_EQ(take_window(64), 32u);
}

}  // namespace
}  // namespace resque::worker
