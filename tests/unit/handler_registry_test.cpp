// HandlerRegistry lookups and the jobs file parser. Nothing here runs a program; running
// them is tested in tests/integration/program_handler_test.cpp.

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <chrono>
#include <fstream>
#include <string>
#include <string_view>

#include "jobs_file.hpp"
#include "redis_server.hpp"
#include "resque/errors.hpp"
#include "resque/handler.hpp"

namespace resque {
namespace {

using namespace std::chrono_literals;
using ::testing::ElementsAre;
using ::testing::HasSubstr;
using ::testing::Pair;
using ::testing::StartsWith;

// The ConfigError message parsing `text` as "jobs.yml" raises, or "" when it parses.
std::string error_of(std::string_view text) {
    try {
        detail::parse_jobs_file(text, "jobs.yml");
    } catch (const ConfigError& error) {
        return error.what();
    }
    return "";
}

ProgramSpec only_program(std::string_view text) {
    auto programs = detail::parse_jobs_file(text, "jobs.yml");
    EXPECT_EQ(programs.size(), 1u);
    return programs.begin()->second.program;
}

// ---- the registry -----------------------------------------------------------------

TEST(HandlerRegistry, FindsAddedHandlerAndNothingForUnknownClass) {
    HandlerRegistry registry;
    int calls = 0;
    registry.add("Archive", [&calls](const JobContext&) { ++calls; });

    const Handler* handler = registry.find("Archive");
    ASSERT_NE(handler, nullptr);
    const Job job{"Archive"};
    (*handler)(JobContext{"mail", "host:1:mail", job, "", "[]"});
    EXPECT_EQ(calls, 1);
    EXPECT_EQ(registry.find("Missing"), nullptr);
}

TEST(HandlerRegistry, AddReplacesTheHandlerOfTheSameClass) {
    HandlerRegistry registry;
    std::string called;
    registry.add("Archive", [&called](const JobContext&) { called = "first"; });
    registry.add("Archive", [&called](const JobContext&) { called = "second"; });

    const Job job{"Archive"};
    (*registry.find("Archive"))(JobContext{"mail", "host:1:mail", job, "", "[]"});
    EXPECT_EQ(called, "second");
    EXPECT_THAT(registry.class_names(), ElementsAre("Archive"));
}

TEST(HandlerRegistry, ListsClassNamesOfHandlersAndPrograms) {
    HandlerRegistry registry;
    registry.add("Mailer", [](const JobContext&) {});
    registry.add_program("Archive", ProgramSpec{{"true"}, {}, {}, std::nullopt, {}});

    EXPECT_THAT(registry.class_names(), ElementsAre("Archive", "Mailer"));
    EXPECT_NE(registry.find("Archive"), nullptr);
}

// ---- parsing a valid jobs file ------------------------------------------------------

TEST(JobsFile, ReadsCommandTimeoutWorkingDirAndEnv) {
    const auto spec = only_program(R"(jobs:
  Archive:
    command: [bin/archive, --fast, "two words"]
    timeout: 30s
    cwd: /srv/app
    env:
      LANG: C.UTF-8
      RETRIES: 3
)");
    EXPECT_THAT(spec.command, ElementsAre("bin/archive", "--fast", "two words"));
    EXPECT_EQ(spec.timeout, std::chrono::milliseconds(30s));
    EXPECT_EQ(spec.working_dir, "/srv/app");
    EXPECT_THAT(spec.env, ElementsAre(Pair("LANG", "C.UTF-8"), Pair("RETRIES", "3")));
}

TEST(JobsFile, OptionalFieldsDefaultToNone) {
    const auto spec = only_program("jobs:\n  Archive:\n    command: [archive]\n");
    EXPECT_THAT(spec.command, ElementsAre("archive"));
    EXPECT_FALSE(spec.timeout.has_value());
    EXPECT_TRUE(spec.working_dir.empty());
    EXPECT_TRUE(spec.env.empty());
}

TEST(JobsFile, ReadsEveryJobOfTheFile) {
    const auto programs = detail::parse_jobs_file(R"(jobs:
  Archive: {command: [archive]}
  Resize:
    command:
      - resize
      - --quality=80
)",
                                                  "jobs.yml");
    ASSERT_EQ(programs.size(), 2u);
    EXPECT_THAT(programs.at("Archive").program.command, ElementsAre("archive"));
    EXPECT_THAT(programs.at("Resize").program.command, ElementsAre("resize", "--quality=80"));
}

TEST(JobsFile, AcceptsTimeoutUnitsAndPlainSeconds) {
    const auto timeout_of = [](std::string_view value) {
        return only_program("jobs:\n  A:\n    command: [a]\n    timeout: " + std::string(value) +
                            "\n")
            .timeout;
    };
    EXPECT_EQ(timeout_of("500ms"), 500ms);
    EXPECT_EQ(timeout_of("30s"), 30s);
    EXPECT_EQ(timeout_of("5m"), 5min);
    EXPECT_EQ(timeout_of("1h"), 1h);
    EXPECT_EQ(timeout_of("45"), 45s);
    EXPECT_EQ(timeout_of("0.5"), 500ms);
    EXPECT_EQ(timeout_of("1.5s"), 1500ms);
}

TEST(JobsFile, EmptyJobsMappingConfiguresNothing) {
    EXPECT_TRUE(detail::parse_jobs_file("jobs: {}\n", "jobs.yml").empty());
}

// ---- errors, each naming its line -----------------------------------------------------

TEST(JobsFile, CommandAsPlainStringIsAnErrorNotSplit) {
    EXPECT_EQ(error_of("jobs:\n  Archive:\n    command: bin/archive --fast\n"),
              R"(jobs.yml:3: "command" must be a non-empty list of strings)");
}

TEST(JobsFile, EmptyCommandListIsAnError) {
    EXPECT_EQ(error_of("jobs:\n  Archive:\n    timeout: 5s\n    command: []\n"),
              R"(jobs.yml:4: "command" must be a non-empty list of strings)");
}

TEST(JobsFile, CommandElementThatIsNotAStringIsAnError) {
    EXPECT_EQ(error_of("jobs:\n  Archive:\n    command:\n      - archive\n      - [nested]\n"),
              R"(jobs.yml:5: "command" must be a non-empty list of strings)");
    EXPECT_EQ(error_of("jobs:\n  Archive:\n    command: [archive, ~]\n"),
              R"(jobs.yml:3: "command" must be a non-empty list of strings)");
}

TEST(JobsFile, EmptyProgramNameIsAnError) {
    EXPECT_EQ(error_of("jobs:\n  Archive:\n    command: ['', x]\n"),
              R"(jobs.yml:3: "command" must start with a program name)");
}

TEST(JobsFile, EntryWithoutCommandConfiguresACppHandler) {
    const auto entries = detail::parse_jobs_file(
        "jobs:\n  Resize:\n    isolation: fork\n    timeout: 5s\n"
        "    limits: {memory: 512M, cpu: 1.5s, files: 64}\n",
        "jobs.yml");
    const auto& entry = entries.at("Resize");
    EXPECT_TRUE(entry.program.command.empty());
    EXPECT_EQ(entry.isolation, Isolation::kFork);
    EXPECT_EQ(entry.program.timeout, std::chrono::milliseconds(5s));
    EXPECT_EQ(entry.program.limits.memory_bytes, 512u << 20);
    EXPECT_EQ(entry.program.limits.cpu, 2s);  // whole seconds, rounded up
    EXPECT_EQ(entry.program.limits.open_files, 64u);
}

TEST(JobsFile, ProgramOnlySettingsWithoutCommandAreAnError) {
    EXPECT_EQ(error_of("jobs:\n  Mailer: {command: [mail]}\n  Archive:\n    cwd: /tmp\n"),
              R"(jobs.yml:3: job "Archive" has no "command" (cwd and env apply to programs only))");
    EXPECT_EQ(error_of("jobs:\n  Archive: {isolation: exec}\n"),
              R"(jobs.yml:2: job "Archive" has no "command" (isolation exec applies to programs only))");
}

TEST(JobsFile, ProgramWithThreadOrForkIsolationIsAnError) {
    EXPECT_EQ(error_of("jobs:\n  Archive: {command: [a], isolation: fork}\n"),
              R"(jobs.yml:2: job "Archive" has a "command": a program always runs with exec isolation (got fork))");
    EXPECT_EQ(only_program("jobs:\n  A: {command: [a], isolation: exec}\n").command,
              std::vector<std::string>{"a"});
}

TEST(JobsFile, InvalidIsolationAndLimitsAreErrors) {
    EXPECT_EQ(error_of("jobs:\n  A: {command: [a], isolation: process}\n"),
              R"(jobs.yml:2: "isolation" must be thread, fork or exec)");
    EXPECT_EQ(error_of("jobs:\n  A:\n    command: [a]\n    limits: {memory: 12X}\n"),
              R"(jobs.yml:4: limits "memory" must be a size like 512M, 2G or 1048576K (got "12X"))");
    EXPECT_EQ(error_of("jobs:\n  A:\n    command: [a]\n    limits: {cpu: soon}\n"),
              R"(jobs.yml:4: limits "cpu" must be a duration like 30s or 5m (got "soon"))");
    EXPECT_EQ(error_of("jobs:\n  A:\n    command: [a]\n    limits: {files: 1K}\n"),
              R"(jobs.yml:4: limits "files" must be a positive whole number (got "1K"))");
    EXPECT_EQ(error_of("jobs:\n  A:\n    command: [a]\n    limits: {disk: 1G}\n"),
              R"(jobs.yml:4: unknown limit "disk" (expected memory, cpu or files))");
    EXPECT_EQ(error_of("jobs:\n  A:\n    command: [a]\n    limits: 1G\n"),
              R"(jobs.yml:4: "limits" must be a mapping: {memory: 512M, cpu: 30s, files: 256})");
}

TEST(JobsFile, ProgramLimitsAreRead) {
    const auto spec = only_program("jobs:\n  A:\n    command: [a]\n    limits: {memory: 2G}\n");
    EXPECT_EQ(spec.limits.memory_bytes, std::uint64_t{2} << 30);
    EXPECT_FALSE(spec.limits.cpu.has_value());
    EXPECT_FALSE(spec.limits.open_files.has_value());
}

TEST(ByteSize, ParsesUnitsAndDescribesThemBack) {
    EXPECT_EQ(detail::parse_byte_size("4096"), 4096u);
    EXPECT_EQ(detail::parse_byte_size("64K"), 64u << 10);
    EXPECT_EQ(detail::parse_byte_size("1T"), std::uint64_t{1} << 40);
    EXPECT_FALSE(detail::parse_byte_size("0").has_value());
    EXPECT_FALSE(detail::parse_byte_size("1.5G").has_value());
    EXPECT_FALSE(detail::parse_byte_size("-1").has_value());
    EXPECT_FALSE(detail::parse_byte_size("99999999999T").has_value());
    EXPECT_EQ(detail::describe_bytes(512u << 20), "512M");
    EXPECT_EQ(detail::describe_bytes(1000), "1000");
    EXPECT_EQ(detail::describe_bytes(3u << 10), "3K");
}

TEST(JobsFile, UnknownKeyIsAnError) {
    EXPECT_EQ(error_of("jobs:\n  Archive:\n    command: [a]\n    comand: [b]\n"),
              R"(jobs.yml:4: unknown key "comand" (expected command, timeout, cwd, env, limits or isolation))");
}

TEST(JobsFile, UnknownTopLevelKeyIsAnError) {
    EXPECT_EQ(error_of("jobs: {}\nworkers: 3\n"),
              R"(jobs.yml:2: unknown key "workers" (expected "jobs"))");
}

TEST(JobsFile, InvalidTimeoutIsAnError) {
    for (const std::string value : {"soon", "10x", "0", "-5s", "1e3", "[30s]"}) {
        SCOPED_TRACE(value);
        const std::string error =
            error_of("jobs:\n  A:\n    command: [a]\n    timeout: " + value + "\n");
        EXPECT_THAT(error, StartsWith(R"(jobs.yml:4: "timeout" must be a positive duration)"));
    }
    EXPECT_THAT(error_of("jobs:\n  A:\n    command: [a]\n    timeout: soon\n"),
                HasSubstr(R"((got "soon"))"));
}

TEST(JobsFile, EmptyValueIsAnErrorAtItsKey) {
    EXPECT_EQ(error_of("jobs:\n  A:\n    command:\n    timeout: 5s\n"),
              R"(jobs.yml:3: "command" must be a non-empty list of strings)");
    EXPECT_THAT(error_of("jobs:\n  A:\n    command: [a]\n    timeout:\n\n"),
                StartsWith(R"(jobs.yml:4: "timeout" must be)"));
    EXPECT_EQ(error_of("jobs:\n\n# nothing yet\n"),
              R"(jobs.yml:1: "jobs" must be a mapping of job class names to programs)");
}

TEST(JobsFile, InvalidWorkingDirIsAnError) {
    EXPECT_EQ(error_of("jobs:\n  A:\n    command: [a]\n    cwd: [x]\n"),
              R"(jobs.yml:4: "cwd" must be a non-empty string)");
}

TEST(JobsFile, InvalidEnvIsAnError) {
    EXPECT_EQ(error_of("jobs:\n  A:\n    command: [a]\n    env: [LANG=C]\n"),
              R"(jobs.yml:4: "env" must be a mapping of variable names to strings)");
    EXPECT_EQ(error_of("jobs:\n  A:\n    command: [a]\n    env:\n      LANG:\n"),
              R"(jobs.yml:5: "env" value of "LANG" must be a string)");
    EXPECT_EQ(error_of("jobs:\n  A:\n    command: [a]\n    env:\n      A=B: x\n"),
              R"(jobs.yml:5: an "env" variable name must be a non-empty string without '=')");
}

TEST(JobsFile, JobThatIsNotAMappingIsAnError) {
    EXPECT_EQ(error_of("jobs:\n  Archive: [archive]\n"),
              R"(jobs.yml:2: job "Archive" must be a mapping with a "command")");
}

TEST(JobsFile, DuplicateClassIsAnError) {
    EXPECT_EQ(error_of("jobs:\n  A: {command: [a]}\n  B: {command: [b]}\n  A: {command: [c]}\n"),
              R"(jobs.yml:4: job "A" is defined twice (first on line 2))");
}

TEST(JobsFile, FileWithoutJobsMappingIsAnError) {
    EXPECT_EQ(error_of(""), R"(jobs.yml:1: expected a mapping with a "jobs" key)");
    EXPECT_EQ(error_of("- a\n- b\n"), R"(jobs.yml:1: expected a mapping with a "jobs" key)");
    EXPECT_EQ(error_of("{}\n"), R"(jobs.yml:1: missing "jobs" mapping)");
    EXPECT_EQ(error_of("\njobs: [a, b]\n"),
              R"(jobs.yml:2: "jobs" must be a mapping of job class names to programs)");
}

TEST(JobsFile, InvalidYamlIsAnErrorAtItsLine) {
    EXPECT_THAT(error_of("jobs:\n  A:\n    command: [a, b\n  B: x\n"), StartsWith("jobs.yml:"));
    EXPECT_THAT(error_of("jobs:\n  A: {command: [a]}\n  B: x: y\n"),
                StartsWith("jobs.yml:3: invalid YAML: "));
}

// ---- reading the file ------------------------------------------------------------------

class JobsFileOnDisk : public ::testing::Test {
   protected:
    std::filesystem::path write(const std::string& name, std::string_view text) {
        const auto path = dir_.path() / name;
        std::ofstream(path) << text;
        return path;
    }

    test::TempDir dir_;
};

TEST_F(JobsFileOnDisk, RegistersAProgramForEachClass) {
    const auto path =
        write("jobs.yml", "jobs:\n  Archive: {command: [archive]}\n  Resize: {command: [r]}\n");
    const auto registry = HandlerRegistry::from_jobs_file(path);
    EXPECT_THAT(registry.class_names(), ElementsAre("Archive", "Resize"));
    EXPECT_NE(registry.find("Resize"), nullptr);
}

TEST_F(JobsFileOnDisk, EntryWithoutCommandSetsTheSettingsOfARegisteredCppHandler) {
    const auto path = write("jobs.yml",
                            "jobs:\n  Resize: {isolation: fork, timeout: 2s}\n  Archive: "
                            "{command: [archive], limits: {files: 32}}\n");
    HandlerRegistry registry;
    registry.add("Resize", [](const JobContext&) {});
    registry.load_jobs_file(path);

    ASSERT_NE(registry.settings("Resize"), nullptr);
    EXPECT_EQ(registry.settings("Resize")->isolation, Isolation::kFork);
    EXPECT_EQ(registry.settings("Resize")->timeout, std::chrono::milliseconds(2s));
    ASSERT_NE(registry.settings("Archive"), nullptr);
    EXPECT_EQ(registry.settings("Archive")->isolation, Isolation::kExec);
    EXPECT_EQ(registry.settings("Archive")->limits.open_files, 32u);
}

TEST_F(JobsFileOnDisk, EntryWithoutCommandForAnUnregisteredClassIsAnErrorAndChangesNothing) {
    const auto path =
        write("jobs.yml", "jobs:\n  Mailer: {command: [mail]}\n  Archive:\n    timeout: 5s\n");
    HandlerRegistry registry;
    try {
        registry.load_jobs_file(path);
        FAIL() << "expected a ConfigError";
    } catch (const ConfigError& error) {
        EXPECT_EQ(std::string(error.what()),
                  path.string() + R"(:3: job "Archive" has no "command" and no C++ handler )"
                                  R"(of that name is registered)");
    }
    EXPECT_TRUE(registry.class_names().empty());
}

TEST(HandlerRegistrySettings, IsolationMustFitTheHandler) {
    HandlerRegistry registry;
    EXPECT_THROW(registry.add("A", [](const JobContext&) {}, {Isolation::kExec, {}, {}}),
                 ConfigError);
    registry.add("A", [](const JobContext&) {}, {Isolation::kFork, {}, {}});
    EXPECT_EQ(registry.settings("A")->isolation, Isolation::kFork);
    registry.add_program("P", ProgramSpec{{"true"}, {}, {}, {}, {}});
    EXPECT_THROW(registry.configure("P", {Isolation::kThread, {}, {}}), ConfigError);
    EXPECT_THROW(registry.configure("Missing", {}), ConfigError);
    registry.configure("A", {Isolation::kThread, std::chrono::milliseconds(10), {}});
    EXPECT_EQ(registry.settings("A")->timeout, std::chrono::milliseconds(10));
    EXPECT_EQ(registry.settings("Missing"), nullptr);
}

TEST(IsolationNames, RoundTrip) {
    for (const auto mode : {Isolation::kThread, Isolation::kFork, Isolation::kExec}) {
        EXPECT_EQ(parse_isolation(to_string(mode)), mode);
    }
    EXPECT_FALSE(parse_isolation("Fork").has_value());
}

TEST_F(JobsFileOnDisk, ErrorsNameTheFileAsGiven) {
    const auto path = write("workers.yml", "jobs:\n  Archive: {command: archive}\n");
    try {
        HandlerRegistry::from_jobs_file(path);
        FAIL() << "expected a ConfigError";
    } catch (const ConfigError& error) {
        EXPECT_EQ(std::string(error.what()),
                  path.string() + R"(:2: "command" must be a non-empty list of strings)");
    }
}

TEST_F(JobsFileOnDisk, MissingFileIsAnErrorNamingPathAndReason) {
    const auto path = dir_.path() / "absent.yml";
    try {
        HandlerRegistry::from_jobs_file(path);
        FAIL() << "expected a ConfigError";
    } catch (const ConfigError& error) {
        EXPECT_EQ(std::string(error.what()),
                  "cannot read jobs file " + path.string() + ": No such file or directory");
    }
}

TEST_F(JobsFileOnDisk, DirectoryIsAnErrorNamingPathAndReason) {
    try {
        HandlerRegistry::from_jobs_file(dir_.path());
        FAIL() << "expected a ConfigError";
    } catch (const ConfigError& error) {
        EXPECT_EQ(std::string(error.what()),
                  "cannot read jobs file " + dir_.path().string() + ": Is a directory");
    }
}

}  // namespace
}  // namespace resque
