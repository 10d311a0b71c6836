#include <gtest/gtest.h>

#include <cmath>
#include <cstdint>
#include <limits>
#include <set>
#include <string>

#include "json/ruby_json.hpp"
#include "resque/errors.hpp"
#include "resque/job.hpp"

namespace resque {
namespace {

using nlohmann::json;

// The message of the PayloadError `decode_payload(payload)` throws, or "" if none.
std::string decode_error(std::string_view payload) {
    try {
        (void)decode_payload(payload);
    } catch (const PayloadError& error) {
        return error.what();
    }
    return "";
}

std::string encode_error(const Job& job, std::size_t max_bytes = kDefaultMaxPayloadBytes) {
    try {
        (void)encode_payload(job, max_bytes);
    } catch (const PayloadError& error) {
        return error.what();
    }
    return "";
}

// ---- encode_payload ----------------------------------------------------------------

TEST(PayloadEncode, WritesClassThenArgsCompactly) {
    const Job job{"SimpleJob", json::array({1, "two", 2.5, nullptr})};
    EXPECT_EQ(encode_payload(job), R"({"class":"SimpleJob","args":[1,"two",2.5,null]})");
}

TEST(PayloadEncode, WritesNamespacedClassAndEmptyArgs) {
    const Job job{"Deep::Nested::NamespacedJob"};
    EXPECT_EQ(encode_payload(job), R"({"class":"Deep::Nested::NamespacedJob","args":[]})");
}

TEST(PayloadEncode, WritesUnicodeAndFloatsInRubyForm) {
    const Job job{"Echo", json::array({"h\u00e9 \u2028", 1.0, 1e20, 1.5e-7, -0.0})};
    EXPECT_EQ(encode_payload(job),
              "{\"class\":\"Echo\",\"args\":[\"h\u00e9 \u2028\",1.0,1.0e+20,1.5e-07,-0.0]}");
}

TEST(PayloadEncode, RejectsEmptyClassName) {
    EXPECT_EQ(encode_error(Job{"", json::array()}), "cannot encode a job with an empty class name");
}

TEST(PayloadEncode, RejectsArgsThatAreNotAnArray) {
    EXPECT_EQ(encode_error(Job{"Echo", json::object()}),
              "cannot encode job Echo: \"args\" is not an array (got object)");
    EXPECT_EQ(encode_error(Job{"Echo", nullptr}),
              "cannot encode job Echo: \"args\" is not an array (got null)");
}

TEST(PayloadEncode, RejectsNanAndInfinityInArgs) {
    EXPECT_NE(encode_error(Job{"Echo", json::array({std::nan("")})}), "");
    const double inf = std::numeric_limits<double>::infinity();
    EXPECT_NE(encode_error(Job{"Echo", json::array({json::array({inf})})}), "");
}

TEST(PayloadEncode, RejectsInvalidUtf8InClassOrArgs) {
    EXPECT_EQ(encode_error(Job{"Bad\xC3\x28", json::array()}),
              "cannot encode a job whose class name is not valid UTF-8");
    EXPECT_EQ(encode_error(Job{"Echo", json::array({{{"k", "v\xC3\x28"}}})}),
              "cannot encode args of job Echo: string is not valid UTF-8 at byte 1 (0xC3)");
}

TEST(PayloadEncode, RejectsPayloadsOverTheLimitNamingSizeAndLimit) {
    const Job job{"Echo", json::array({"abc"})};  // {"class":"Echo","args":["abc"]}
    const std::size_t size = encode_payload(job).size();
    ASSERT_EQ(size, 31u);
    EXPECT_EQ(encode_error(job, size), "");
    EXPECT_EQ(encode_error(job, size - 1),
              "payload of job Echo is 31 bytes, over the limit of 30 bytes");
}

// ---- decode_payload ----------------------------------------------------------------

TEST(PayloadDecode, ReadsClassAndArgs) {
    const Job job = decode_payload(R"({"class":"SimpleJob","args":[2,"b"]})");
    EXPECT_EQ(job.class_name, "SimpleJob");
    EXPECT_EQ(job.args, json::array({2, "b"}));
}

TEST(PayloadDecode, TreatsMissingArgsAsNoArguments) {
    const Job job = decode_payload(R"({"class":"NoArgs"})");
    EXPECT_EQ(job.class_name, "NoArgs");
    EXPECT_EQ(job.args, json::array());
}

TEST(PayloadDecode, IgnoresExtraKeys) {
    const Job job = decode_payload(R"({"jid":"x","class":"A","args":[],"queue":"q"})");
    EXPECT_EQ(job, (Job{"A", json::array()}));
}

TEST(PayloadDecode, KeepsSixtyFourBitIntegersExact) {
    const Job job = decode_payload(
        R"({"class":"Big","args":[9007199254740993,18446744073709551615,-9223372036854775808]})");
    ASSERT_EQ(job.args.size(), 3u);
    ASSERT_TRUE(job.args[0].is_number_integer());
    EXPECT_EQ(job.args[0].get<std::int64_t>(), 9007199254740993);
    ASSERT_TRUE(job.args[1].is_number_unsigned());
    EXPECT_EQ(job.args[1].get<std::uint64_t>(), 18446744073709551615ULL);
    ASSERT_TRUE(job.args[2].is_number_integer());
    EXPECT_EQ(job.args[2].get<std::int64_t>(), std::numeric_limits<std::int64_t>::min());
}

TEST(PayloadDecode, RoundTripsThroughEncodeByteForByte) {
    const std::string payloads[] = {
        R"({"class":"SimpleJob","args":[2,"b"]})",
        R"({"class":"Echo","args":[1.0,0.1,1.0e+20,-7,"\u0001 \"q\" /",{"a":{"b":[]}}]})",
        R"({"class":"Big","args":[18446744073709551615,-9223372036854775808]})",
    };
    for (const std::string& payload : payloads) {
        EXPECT_EQ(encode_payload(decode_payload(payload)), payload);
    }
}

// FC-04: each malformed payload fails with its own message naming the problem.
TEST(PayloadDecode, RejectsMalformedPayloadsWithDistinctMessages) {
    const std::string messages[] = {
        decode_error("not-json"),
        decode_error(R"({"class":"Echo","args":)"),
        decode_error(R"({"args":[1]})"),
        decode_error(R"({"class":"Echo","args":{"a":1}})"),
        decode_error("[]"),
    };
    EXPECT_EQ(messages[0].rfind("payload is not valid JSON at byte 1: ", 0), 0u) << messages[0];
    EXPECT_EQ(messages[1].rfind("payload is not valid JSON at byte 23: ", 0), 0u) << messages[1];
    EXPECT_NE(messages[1].find("unexpected end of input"), std::string::npos) << messages[1];
    EXPECT_EQ(messages[2], "payload has no \"class\"");
    EXPECT_EQ(messages[3], "\"args\" is not an array (got object)");
    EXPECT_EQ(messages[4], "payload is not a JSON object (got array)");
    EXPECT_EQ(std::set<std::string>(std::begin(messages), std::end(messages)).size(), 5u);
}

TEST(PayloadDecode, RejectsClassThatIsNotANonEmptyString) {
    EXPECT_EQ(decode_error(R"({"class":7,"args":[]})"), "\"class\" is not a string (got number)");
    EXPECT_EQ(decode_error(R"({"class":"","args":[]})"), "\"class\" is an empty string");
    EXPECT_EQ(decode_error(R"({"class":"A","args":null})"), "\"args\" is not an array (got null)");
    EXPECT_EQ(decode_error(R"("just a string")"), "payload is not a JSON object (got string)");
}

TEST(PayloadDecode, RejectsInvalidUtf8InsideAString) {
    // nlohmann stops at the byte that makes the sequence ill-formed: the "(" after C3.
    const std::string message = decode_error("{\"class\":\"Echo\",\"args\":[\"a\xC3\x28\"]}");
    EXPECT_EQ(message.rfind("payload is not valid JSON at byte 27: ", 0), 0u) << message;
    EXPECT_NE(message.find("UTF-8"), std::string::npos) << message;
    EXPECT_TRUE(resque::json::is_valid_utf8(message));
}

TEST(PayloadDecode, RejectsLoneSurrogateEscape) {
    const std::string message = decode_error(R"({"class":"Echo","args":["\ud800"]})");
    EXPECT_NE(message.find("surrogate"), std::string::npos) << message;
}

TEST(PayloadDecode, RejectsTenThousandDeepNestingWithoutCrashing) {
    const std::string payload =
        R"({"class":"Deep","args":)" + std::string(10000, '[') + std::string(10000, ']') + "}";
    EXPECT_EQ(decode_error(payload), "payload nests arrays and objects deeper than 512 levels");
}

}  // namespace
}  // namespace resque
