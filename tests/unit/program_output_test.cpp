// ProgramOutput: line splitting, the per-job log budget and the stderr tail kept for a
// failure message. Pure logic; the program runs themselves are integration tests.

#include "program_output.hpp"

#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <spdlog/sinks/ostream_sink.h>

#include <algorithm>
#include <sstream>
#include <string>

#include "log.hpp"

namespace resque::detail {
namespace {

using ::testing::HasSubstr;
using ::testing::Not;

class ProgramOutputTest : public ::testing::Test {
   protected:
    ProgramOutputTest() : previous_sinks_(log_->sinks()), previous_level_(log_->level()) {
        log_->sinks() = {std::make_shared<spdlog::sinks::ostream_sink_st>(logged_)};
        log_->set_level(spdlog::level::debug);
    }
    ~ProgramOutputTest() override {
        log_->set_level(previous_level_);
        log_->sinks() = previous_sinks_;
    }

    std::size_t logged_lines() const {
        const std::string text = logged_.str();
        return static_cast<std::size_t>(std::count(text.begin(), text.end(), '\n'));
    }

    const Job job_{"Archive"};
    const JobContext context_{"mail", "host:1:mail", job_, "", "[]"};
    std::shared_ptr<spdlog::logger> log_ = log::worker();
    std::ostringstream logged_;
    std::vector<spdlog::sink_ptr> previous_sinks_;
    spdlog::level::level_enum previous_level_;
};

TEST_F(ProgramOutputTest, JoinsLinesSplitAcrossChunks) {
    ProgramOutput output(context_);
    output.append(OutputStream::kStderr, "first li");
    output.append(OutputStream::kStderr, "ne\r\nsecond\nthi");
    output.append(OutputStream::kStdout, "unrelated\n");
    output.close(OutputStream::kStderr);

    EXPECT_EQ(output.stderr_tail(), "first line\nsecond\nthi");
    EXPECT_THAT(logged_.str(),
                HasSubstr("first line class=Archive queue=mail worker=host:1:mail stream=stderr"));
    EXPECT_THAT(logged_.str(), HasSubstr("unrelated class=Archive"));
}

TEST_F(ProgramOutputTest, TailKeepsTheLastLinesWithinItsLimits) {
    ProgramOutput output(context_, OutputLimits{.tail_lines = 3});
    for (int i = 0; i < 10; ++i) output.append(OutputStream::kStderr, std::to_string(i) + "\n");
    output.append(OutputStream::kStderr, "\n   \n");
    EXPECT_EQ(output.stderr_tail(), "7\n8\n9");

    ProgramOutput by_bytes(context_, OutputLimits{.tail_bytes = 10});
    by_bytes.append(OutputStream::kStderr, "aaaa\nbbbb\ncccc\n");
    EXPECT_EQ(by_bytes.stderr_tail(), "bbbb\ncccc");
}

TEST_F(ProgramOutputTest, StdoutNeverEntersTheTail) {
    ProgramOutput output(context_);
    output.append(OutputStream::kStdout, "progress 50%\n");
    output.close(OutputStream::kStdout);
    EXPECT_EQ(output.stderr_tail(), "");
}

TEST_F(ProgramOutputTest, LongLinesAreCutIntoPieces) {
    ProgramOutput output(context_, OutputLimits{.tail_lines = 10, .line_bytes = 4});
    output.append(OutputStream::kStderr, "abcdefghij\nxy\n");
    EXPECT_EQ(output.stderr_tail(), "abcd\nefgh\nij\nxy");
}

TEST_F(ProgramOutputTest, StopsLoggingAfterTheLineBudgetWithOneNotice) {
    ProgramOutput output(context_, OutputLimits{.logged_lines = 5});
    for (int i = 0; i < 50; ++i) output.append(OutputStream::kStdout, "line\n");

    EXPECT_EQ(logged_lines(), 6u);
    EXPECT_THAT(logged_.str(), HasSubstr("program output truncated after 5 lines"));
}

TEST_F(ProgramOutputTest, StopsLoggingAfterTheByteBudget) {
    ProgramOutput output(context_, OutputLimits{.logged_bytes = 10});
    output.append(OutputStream::kStdout, "12345\n678\nthis one does not fit\nnor this\n");

    EXPECT_THAT(logged_.str(), HasSubstr("678 class="));
    EXPECT_THAT(logged_.str(), Not(HasSubstr("fit")));
    EXPECT_THAT(logged_.str(), Not(HasSubstr("nor this")));
    EXPECT_EQ(logged_lines(), 3u);
}

TEST_F(ProgramOutputTest, TailStillFillsAfterTheLogBudgetIsSpent) {
    ProgramOutput output(context_, OutputLimits{.logged_lines = 1});
    output.append(OutputStream::kStderr, "one\ntwo\nthree\n");
    EXPECT_EQ(output.stderr_tail(), "one\ntwo\nthree");
}

}  // namespace
}  // namespace resque::detail
