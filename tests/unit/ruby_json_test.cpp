#include "json/ruby_json.hpp"

#include <gtest/gtest.h>

#include <cmath>
#include <fstream>
#include <limits>
#include <map>
#include <sstream>
#include <string>

#include "resque/errors.hpp"

namespace resque::json {
namespace {

using nlohmann::json;
using nlohmann::ordered_json;

std::string fixture_path(std::string_view name) {
    return std::string(RESQUE_SOURCE_DIR) + "/../shared/fixtures/resque-3.0/" + std::string(name);
}

std::string read_file(const std::string& path) {
    std::ifstream in(path, std::ios::binary);
    EXPECT_TRUE(in) << "cannot open " << path;
    std::ostringstream text;
    text << in.rdbuf();
    return text.str();
}

// The queue entry Ruby wrote for the unicode job of fixture 15.
std::string unicode_job_payload() {
    const json fixture = json::parse(read_file(fixture_path("15-unicode-and-nested-args.json")));
    for (const auto& [key, entry] : fixture.at("redis").items()) {
        if (!key.starts_with("resque:queue:") || entry.at("type") != "list") continue;
        for (const auto& value : entry.at("value")) {
            const auto& text = value.get_ref<const std::string&>();
            if (text.find("ArgsEchoJob") != std::string::npos) return text;
        }
    }
    ADD_FAILURE() << "fixture 15 holds no ArgsEchoJob entry";
    return {};
}

std::string float_text(double value) {
    std::string out;
    append_float(out, value);
    return out;
}

std::string string_text(std::string_view value) {
    std::string out;
    append_string(out, value);
    return out;
}

std::string nested_arrays(std::size_t depth) {
    return std::string(depth, '[') + std::string(depth, ']');
}

// ---- encoding samples (json-encoding-samples.json, json_gem column) ------------------

// The Ruby values of the samples, built in C++ and keyed by the sample's name.
std::map<std::string, json> sample_values() {
    return {
        {"ascii string", "plain"},
        {"unicode string", "h\u00e9llo \u2603 \U0001F600 \u65e5\u672c\u8a9e"},
        {"control chars", "\x01\x1f\x7f"},
        {"quotes/backslash/slash", "q\"b\\s/"},
        {"newline/tab", "a\nb\tc"},
        {"html", "</script>&<>"},
        {"line separators", "\u2028\u2029"},
        {"integer", 42},
        {"negative integer", -7},
        {"int64 max", std::numeric_limits<std::int64_t>::max()},
        {"beyond int64", 12345678901234567890ULL},
        {"float 0.1", 0.1},
        {"float 1.0", 1.0},
        {"float 100.0", 100.0},
        {"float 1e15", 1e15},
        {"float 1e16", 1e16},
        {"float 123456789012345.6", 123456789012345.6},
        {"float 1e20", 1e20},
        {"float 0.0001", 0.0001},
        {"float 0.00001", 0.00001},
        {"float 1.5e-7", 1.5e-7},
        {"float 1/3", 1.0 / 3.0},
        {"float -0.0", -0.0},
        {"true", true},
        {"false", false},
        {"nil", nullptr},
        {"symbol", "sym"},
        {"hash with symbol keys", {{"a", 1}, {"b", json::array({nullptr})}}},
        {"empty array", json::array()},
        {"empty hash", json::object()},
        {"nested", {{"x", json::array({1, {{"y", json::array({2.5, "z"})}}})}}},
    };
}

TEST(RubyJsonEncoding, ReproducesEveryJsonGemSampleByteForByte) {
    const json samples = json::parse(read_file(fixture_path("json-encoding-samples.json")));
    const auto values = sample_values();
    ASSERT_EQ(samples.at("samples").size(), values.size());

    for (const auto& sample : samples.at("samples")) {
        const std::string name = sample.at("name");
        ASSERT_TRUE(values.contains(name)) << "no C++ value for sample " << name;
        EXPECT_EQ(encode(json::array({values.at(name)})), sample.at("json_gem").get<std::string>())
            << "sample " << name;
    }
}

// ---- floats ------------------------------------------------------------------------

TEST(RubyJsonFloat, UsesFixedNotationWithPointZeroBetweenTenThousandthAndOneE15) {
    EXPECT_EQ(float_text(0.0), "0.0");
    EXPECT_EQ(float_text(1.0), "1.0");
    EXPECT_EQ(float_text(2.5), "2.5");
    EXPECT_EQ(float_text(0.0001), "0.0001");
    EXPECT_EQ(float_text(0.00012), "0.00012");
    EXPECT_EQ(float_text(1e14), "100000000000000.0");
    EXPECT_EQ(float_text(123456789012345.0), "123456789012345.0");
    EXPECT_EQ(float_text(999999999999999.9), "999999999999999.9");
}

TEST(RubyJsonFloat, UsesFixedBetweenOneE15AndOneE16OnlyWhenDigitsPassThePoint) {
    EXPECT_EQ(float_text(1234567890123456.8), "1234567890123456.8");
    EXPECT_EQ(float_text(1e15), "1.0e+15");
    EXPECT_EQ(float_text(1.234567890123456e15), "1.234567890123456e+15");
    EXPECT_EQ(float_text(1e16), "1.0e+16");
}

TEST(RubyJsonFloat, UsesExponentWithSignAndTwoDigitsOutsideFixedRange) {
    EXPECT_EQ(float_text(1e20), "1.0e+20");
    EXPECT_EQ(float_text(1.5e-7), "1.5e-07");
    EXPECT_EQ(float_text(-1.5e-7), "-1.5e-07");
    EXPECT_EQ(float_text(0.00001), "1.0e-05");
    EXPECT_EQ(float_text(5e-324), "5.0e-324");
    EXPECT_EQ(float_text(1.7976931348623157e308), "1.7976931348623157e+308");
}

TEST(RubyJsonFloat, KeepsTheSignOfNegativeZero) { EXPECT_EQ(float_text(-0.0), "-0.0"); }

TEST(RubyJsonFloat, RejectsNanAndInfinity) {
    EXPECT_THROW(float_text(std::nan("")), PayloadError);
    EXPECT_THROW(float_text(std::numeric_limits<double>::infinity()), PayloadError);
    EXPECT_THROW(float_text(-std::numeric_limits<double>::infinity()), PayloadError);
}

// ---- strings -----------------------------------------------------------------------

TEST(RubyJsonString, EscapesQuoteBackslashAndControlsInRubyForm) {
    EXPECT_EQ(string_text("a\"b\\c"), R"("a\"b\\c")");
    EXPECT_EQ(string_text("\b\f\n\r\t"), R"("\b\f\n\r\t")");
    EXPECT_EQ(string_text(std::string_view("\x00\x1b\x1f", 3)), R"("\u0000\u001b\u001f")");
}

TEST(RubyJsonString, WritesSlashDelSeparatorsAndNonAsciiRaw) {
    EXPECT_EQ(string_text("/\x7f"), "\"/\x7f\"");
    EXPECT_EQ(string_text("\u2028\u2029"), "\"\u2028\u2029\"");
    EXPECT_EQ(string_text("\u00e9\U0001F600"), "\"\u00e9\U0001F600\"");
}

TEST(RubyJsonString, RejectsInvalidUtf8NamingTheByte) {
    try {
        (void)string_text("ab\xC3\x28");
        FAIL() << "no exception";
    } catch (const PayloadError& error) {
        EXPECT_STREQ(error.what(), "string is not valid UTF-8 at byte 2 (0xC3)");
    }
    EXPECT_THROW(string_text("\xC0\x80"), PayloadError);          // overlong
    EXPECT_THROW(string_text("\xED\xA0\x80"), PayloadError);      // surrogate
    EXPECT_THROW(string_text("\xF4\x90\x80\x80"), PayloadError);  // above U+10FFFF
    EXPECT_THROW(string_text("\xE2\x82"), PayloadError);          // truncated
    EXPECT_THROW(string_text("\xFF"), PayloadError);
}

TEST(RubyJsonUtf8, AcceptsOnlyWellFormedSequences) {
    EXPECT_TRUE(is_valid_utf8(""));
    EXPECT_TRUE(is_valid_utf8("plain \u00e9 \u2603 \U0001F600 \U0010FFFF"));
    EXPECT_FALSE(is_valid_utf8("\xC3\x28"));
    EXPECT_FALSE(is_valid_utf8("\xE0\x80\x80"));
    EXPECT_FALSE(is_valid_utf8("\xF0\x8F\xBF\xBF"));
    EXPECT_FALSE(is_valid_utf8("\x80"));
}

TEST(RubyJsonUtf8, ScrubReplacesEachMaximalInvalidSubpartWithOneReplacementChar) {
    EXPECT_EQ(scrub_utf8("ok \u00e9"), "ok \u00e9");
    EXPECT_EQ(scrub_utf8("a\xC3(b"), "a\uFFFD(b");
    EXPECT_EQ(scrub_utf8("x\xF0\x9F\x98"), "x\uFFFD");
    EXPECT_EQ(scrub_utf8("\xC0\x80"), "\uFFFD\uFFFD");
    EXPECT_TRUE(is_valid_utf8(scrub_utf8("\xFF\xFE\xED\xA0\x80 \xF4\x90")));
}

// ---- whole values ------------------------------------------------------------------

TEST(RubyJsonValue, WritesOrderedJsonKeysInInsertionOrder) {
    ordered_json value;
    value["queue"] = "slow";
    value["run_at"] = "2026-12-03T12:25:34Z";
    value["payload"] = {{"class", "SlowJob"}, {"args", ordered_json::array()}};
    EXPECT_EQ(encode(value), R"({"queue":"slow","run_at":"2026-12-03T12:25:34Z",)"
                             R"("payload":{"class":"SlowJob","args":[]}})");
}

TEST(RubyJsonValue, WritesJsonKeysSorted) {
    const json value = {{"class", "A"}, {"args", json::array({1})}};
    EXPECT_EQ(encode(value), R"({"args":[1],"class":"A"})");
}

TEST(RubyJsonValue, RejectsBinaryValues) {
    EXPECT_THROW((void)encode(json::binary({1, 2, 3})), PayloadError);
}

// ---- canonicalize ------------------------------------------------------------------

TEST(RubyJsonCanonicalize, ReproducesFixture15PayloadByteForByte) {
    const std::string payload = unicode_job_payload();
    ASSERT_FALSE(payload.empty());
    EXPECT_EQ(canonicalize(payload), payload);
}

TEST(RubyJsonCanonicalize, CopiesIntegersOfAnySizeDigitForDigit) {
    const std::string text =
        "[9007199254740993,-9223372036854775808,18446744073709551615,1480696115606304699,1.0,"
        "0.1,123456789012345678901234567890]";
    EXPECT_EQ(canonicalize(text), text);
    EXPECT_EQ(canonicalize("[-123456789012345678901234567890, -0]"),
              "[-123456789012345678901234567890,0]");
}

TEST(RubyJsonCanonicalize, RewritesWhitespaceEscapesAndNumbersAsRubyWould) {
    EXPECT_EQ(canonicalize(" { \"b\" : [ 1 , 2 ] ,\n\"a\":{} } "), R"({"b":[1,2],"a":{}})");
    EXPECT_EQ(canonicalize(R"(["\u00e9\/\u001F\u2028\ud83d\ude00"])"),
              "[\"\u00e9/\\u001f\u2028\U0001F600\"]");
    EXPECT_EQ(canonicalize("[1E5,1e-5,2.50,-0.0,1e15,100]"),
              "[100000.0,1.0e-05,2.5,-0.0,1.0e+15,100]");
}

TEST(RubyJsonCanonicalize, KeepsDuplicateKeysAsTheyCome) {
    EXPECT_EQ(canonicalize(R"({"a":1,"a":2})"), R"({"a":1,"a":2})");
}

TEST(RubyJsonCanonicalize, HandlesVeryDeepNestingWithoutRecursion) {
    const std::string deep = nested_arrays(100000);
    EXPECT_EQ(canonicalize(deep), deep);
}

TEST(RubyJsonCanonicalize, RejectsInvalidJsonNamingTheByteOffset) {
    try {
        (void)canonicalize("[1,2,]");
        FAIL() << "no exception";
    } catch (const PayloadError& error) {
        EXPECT_NE(std::string(error.what()).find("text is not valid JSON at byte 5: "),
                  std::string::npos)
            << error.what();
    }
    EXPECT_THROW((void)canonicalize(""), PayloadError);
    EXPECT_THROW((void)canonicalize("[1] [2]"), PayloadError);
    EXPECT_THROW((void)canonicalize("[1e400]"), PayloadError);
}

// ---- parse -------------------------------------------------------------------------

TEST(RubyJsonParse, KeepsTheLastOfDuplicateKeysAsRubyDoes) {
    EXPECT_EQ(parse(R"({"a":1,"a":2})", "test"), json({{"a", 2}}));
}

TEST(RubyJsonParse, BuildsNestedValues) {
    const json value = parse(R"({"x":[1,{"y":[2.5,"z",null,true]}],"e":{}})", "test");
    EXPECT_EQ(value, json::parse(R"({"x":[1,{"y":[2.5,"z",null,true]}],"e":{}})"));
}

TEST(RubyJsonParse, AcceptsNestingUpToTheLimitAndRejectsOneMore) {
    EXPECT_NO_THROW((void)parse(nested_arrays(8), "test", 8));
    EXPECT_THROW((void)parse(nested_arrays(9), "test", 8), PayloadError);
}

TEST(RubyJsonParse, RejectsTenThousandDeepNestingWithoutCrashing) {
    try {
        (void)parse(nested_arrays(10000), "payload in queue \"mail\"");
        FAIL() << "no exception";
    } catch (const PayloadError& error) {
        EXPECT_STREQ(error.what(),
                     "payload in queue \"mail\" nests arrays and objects deeper than 512 levels");
    }
}

TEST(RubyJsonParse, NamesWhatAndTheByteOffsetOnSyntaxErrors) {
    try {
        (void)parse("{\"a\" 1}", "payload in queue \"mail\"");
        FAIL() << "no exception";
    } catch (const PayloadError& error) {
        const std::string message = error.what();
        EXPECT_EQ(message.rfind("payload in queue \"mail\" is not valid JSON at byte 5: ", 0), 0u)
            << message;
        EXPECT_EQ(message.find("json.exception"), std::string::npos) << message;
    }
}

TEST(RubyJsonParse, RejectsLoneSurrogateEscapes) {
    EXPECT_THROW((void)parse(R"(["\ud800"])", "test"), PayloadError);
    EXPECT_THROW((void)parse(R"(["\udc00x"])", "test"), PayloadError);
}

TEST(RubyJsonParse, KeepsErrorMessagesShortAndValidUtf8) {
    const std::string text = "[\"" + std::string(100000, 'x') + "\xC3\x28\"]";
    try {
        (void)parse(text, "test");
        FAIL() << "no exception";
    } catch (const PayloadError& error) {
        EXPECT_LT(std::string_view(error.what()).size(), 300u);
        EXPECT_TRUE(is_valid_utf8(error.what()));
    }
}

// ---- raw_member --------------------------------------------------------------------

TEST(RubyJsonRawMember, ReturnsTheExactBytesOfATopLevelValue) {
    const std::string_view text = R"({"class":"Echo","args":[1, {"args":2}],"n":-1.5e3,"t":true})";
    EXPECT_EQ(raw_member(text, "class"), R"("Echo")");
    EXPECT_EQ(raw_member(text, "args"), R"([1, {"args":2}])");
    EXPECT_EQ(raw_member(text, "n"), "-1.5e3");
    EXPECT_EQ(raw_member(text, "t"), "true");
}

TEST(RubyJsonRawMember, SkipsWhitespaceAndStringsHoldingBracketsOrQuotes) {
    const std::string_view text = " {\n \"a\" : \"]}\\\",\" ,\n \"b\" : { \"c\" : \"[\" } \n} ";
    EXPECT_EQ(raw_member(text, "a"), R"("]}\",")");
    EXPECT_EQ(raw_member(text, "b"), R"({ "c" : "[" })");
}

TEST(RubyJsonRawMember, ReturnsEmptyWhenAbsentOrNotAnObject) {
    EXPECT_TRUE(raw_member(R"({"class":"Echo"})", "args").empty());
    EXPECT_TRUE(raw_member("{}", "args").empty());
    EXPECT_TRUE(raw_member(R"([{"args":1}])", "args").empty());
    EXPECT_TRUE(raw_member(R"({"args":[1,2)", "args").empty());
    EXPECT_TRUE(raw_member("", "args").empty());
}

TEST(RubyJsonRawMember, ReturnsTheLastOfDuplicateKeysAsRubyDecodes) {
    EXPECT_EQ(raw_member(R"({"a":1,"a":[2]})", "a"), "[2]");
}

TEST(RubyJsonRawMember, MatchesKeysWrittenWithEscapes) {
    EXPECT_EQ(raw_member(R"({"\u0063lass":"Echo"})", "class"), R"("Echo")");
}

// is_object answers as parse() would, without building anything: the worker record
// embeds a payload as-is only when this holds.
TEST(RubyJsonIsObject, AgreesWithParseOnObjectsOthersAndBrokenText) {
    for (std::string_view text :
         {R"({"class":"A","args":[1,{"b":[]}]})", R"(  {"x":1}  )", R"([1,2])", R"("text")",
          "42", R"({"class":"A")", R"({"class":"A"} trailing)", "", "   ",
          "{\"bad\":\"\xff\"}", R"({"n":1e400})"}) {
        bool parsed_object = false;
        try {
            parsed_object = parse(text, "payload").is_object();
        } catch (const PayloadError&) {
        }
        EXPECT_EQ(is_object(text), parsed_object) << text;
    }
}

TEST(RubyJsonIsObject, RejectsNestingDeeperThanTheLimitLikeParse) {
    std::string deep = "{\"a\":" + std::string(600, '[') + std::string(600, ']') + "}";
    EXPECT_THROW((void)parse(deep, "payload"), PayloadError);
    EXPECT_FALSE(is_object(deep));
    EXPECT_TRUE(is_object(deep, 1000));
}

// Long strings (64 KiB and more) in a large text are lifted out before nlohmann reads it
// and put back after (FC-07): the result must be what reading the whole text gives.
std::string long_text(char fill) { return std::string(70 * 1024, fill); }

TEST(RubyJsonLongStrings, ParseAsTheWholeTextWouldWithEscapesKeysAndUtf8) {
    const std::string plain = long_text('x');
    const std::string utf8 = "Z\xC3\xBCrich " + long_text('y');
    const std::string escaped = long_text('z') + "\\n\\u00e9";
    for (const std::string& text : {
             R"({"class":"Size","args":[")" + plain + R"("]})",
             R"({"class":"A","args":[")" + utf8 + R"(",")" + escaped + R"(",1,"s"],")" +
                 plain + R"(":{")" + plain + R"(":[")" + plain + R"("]}})",
             R"( [ ")" + plain + R"(" , 1.5e3 , null , true , "\"" ] )",
         }) {
        EXPECT_EQ(parse(text, "payload"), json::parse(text)) << text.substr(0, 60);
        EXPECT_TRUE(is_json(text));
        EXPECT_EQ(is_object(text), text.front() == '{');
    }
}

TEST(RubyJsonLongStrings, RejectBrokenTextNamingTheSameOffsetAsAWholeRead) {
    const std::string plain = long_text('x');
    for (const std::string& text : {
             R"({"args":[")" + plain + R"(" "x"]})",
             R"({"args":[")" + plain + "\x01" + R"("]})",
             R"({"args":[")" + plain + R"("]}})",
             R"({"args":[")" + plain,
             "{\"args\":[\"" + plain + "\xff\"]}",
         }) {
        std::size_t offset = 0;
        try {
            [[maybe_unused]] const json parsed = json::parse(text);
        } catch (const json::parse_error& error) {
            offset = error.byte - 1;
        }
        ASSERT_GT(offset, 0u);
        EXPECT_FALSE(is_json(text));
        EXPECT_FALSE(is_object(text));
        try {
            (void)parse(text, "payload");
            ADD_FAILURE() << "accepted " << text.substr(text.size() - 20);
        } catch (const PayloadError& error) {
            EXPECT_NE(std::string(error.what()).find("at byte " + std::to_string(offset)),
                      std::string::npos)
                << error.what();
        }
    }
}

TEST(RubyJsonLongStrings, KeepTheDepthLimit) {
    const std::string deep = R"({"a":")" + long_text('x') + R"(","b":)" + std::string(600, '[') +
                             std::string(600, ']') + "}";
    EXPECT_THROW((void)parse(deep, "payload"), PayloadError);
    EXPECT_FALSE(is_object(deep));
    EXPECT_TRUE(is_json(deep));
}

}  // namespace
}  // namespace resque::json
