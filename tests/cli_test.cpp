// `pconv inpaint` end to end on generated images, including every error a user can run into.
#include <gtest/gtest.h>
#include <sys/wait.h>

#include <algorithm>
#include <array>
#include <cstdio>
#include <opencv2/imgcodecs.hpp>
#include <opencv2/imgproc.hpp>

#include "pconv/io/files.h"
#include "pconv/io/image.h"
#include "test_util.h"

namespace pconv {
namespace {
namespace fs = std::filesystem;

struct Result {
  int code;
  std::string output;  // stdout and stderr
};

Result pconv(const std::string& args) {
  const std::string cmd = std::string(PCONV_BINARY) + " " + args + " 2>&1";
  FILE* pipe = popen(cmd.c_str(), "r");
  std::string out;
  std::array<char, 4096> buf;
  size_t n;
  while ((n = fread(buf.data(), 1, buf.size(), pipe)) > 0) out.append(buf.data(), n);
  const int status = pclose(pipe);
  return {WIFEXITED(status) ? WEXITSTATUS(status) : -1, out};
}

class Cli : public ::testing::Test {
 protected:
  void SetUp() override {
    model = dir / "model.safetensors";
    test::write_tiny_model(model, 3, 0.25);
    image = test::test_image(96, 72);
    hole = test::rect_hole(96, 72, {20, 15, 30, 25});
    cv::imwrite((dir / "photo.png").string(), image);
    cv::imwrite((dir / "mask.png").string(), hole);
  }
  std::string common() const { return "--model " + model.string() + " --threads 1 "; }
  std::string p(const std::string& name) const { return (dir / name).string(); }
  size_t files_in(const fs::path& d) const {
    return static_cast<size_t>(std::distance(fs::directory_iterator(d), fs::directory_iterator()));
  }

  test::TempDir dir;
  fs::path model;
  cv::Mat image, hole;
};

TEST_F(Cli, HelpListsEveryOptionWithItsDefault) {
  const auto r = pconv("inpaint --help");
  EXPECT_EQ(r.code, 0);
  for (const char* s : {"--image", "--mask", "--model", "--output", "--invert-mask", "--resize-mask", "--tile INT=512",
                        "--overlap INT=128", "--max-hole-radius INT=32", "--context INT=128", "--ensemble INT=1",
                        "--quality TEXT:{fast,best}=fast", "--blend TEXT:{poisson,none}=poisson", "--device TEXT=auto",
                        "--threads INT=0", "--jpeg-quality INT=95", "--timings"})
    EXPECT_NE(r.output.find(s), std::string::npos) << s;
  const auto bogus = pconv("inpaint --bogus");
  EXPECT_EQ(bogus.code, 2);
  EXPECT_EQ(std::count(bogus.output.begin(), bogus.output.end(), '\n'), 1) << bogus.output;
  const auto bad_blend = pconv("inpaint -i a.png -o b.png --blend soft");
  EXPECT_EQ(bad_blend.code, 2);
  EXPECT_NE(bad_blend.output.find("--blend: soft not in {poisson,none}"), std::string::npos) << bad_blend.output;
  EXPECT_EQ(pconv("").code, 2);
}

TEST_F(Cli, FillsTheHoleAndKeepsEveryOtherPixel) {
  const auto r = pconv("inpaint " + common() + "-i " + p("photo.png") + " -m " + p("mask.png") + " -o " + p("out.png"));
  ASSERT_EQ(r.code, 0) << r.output;
  const cv::Mat out = load_image(dir / "out.png");
  ASSERT_EQ(out.size(), image.size());
  EXPECT_EQ(cv::norm(out, image, cv::NORM_INF, hole == 0), 0.0);
  EXPECT_GT(cv::norm(out, image, cv::NORM_L1, hole), 0.0);

  // The paper's composite, without blending: another fill, the same pixels outside the hole.
  const auto plain = pconv("inpaint " + common() + "-i " + p("photo.png") + " -m " + p("mask.png") + " -o " +
                           p("plain.png") + " --blend none");
  ASSERT_EQ(plain.code, 0) << plain.output;
  const cv::Mat pasted = load_image(dir / "plain.png");
  EXPECT_EQ(cv::norm(pasted, image, cv::NORM_INF, hole == 0), 0.0);
  EXPECT_GT(cv::norm(pasted, out, cv::NORM_L1, hole), 0.0);
}

// --quality picks the passes; --ensemble or --blend given as well refine it, in any order.
TEST_F(Cli, QualityChoosesThePassesAndFinerOptionsRefineIt) {
  const std::string run = "inpaint " + common() + "-i " + p("photo.png") + " -m " + p("mask.png") + " --timings ";
  const auto passes = [&](const std::string& options) {
    const auto r = pconv(run + "-o " + p("q.png") + " " + options);
    EXPECT_EQ(r.code, 0) << options << "\n" << r.output;
    const size_t at = r.output.find("network pass");
    if (at == std::string::npos) return 0;
    const size_t times = r.output.find("(", at), end = r.output.find('\n', at);
    return times < end ? std::stoi(r.output.substr(times + 1)) : 1;
  };
  EXPECT_EQ(passes(""), 1);
  EXPECT_EQ(passes("--quality fast"), 1);
  EXPECT_EQ(passes("--quality best"), 8);
  EXPECT_EQ(passes("--quality best --ensemble 2"), 2);
  EXPECT_EQ(passes("--ensemble 4 --quality fast"), 4);
  const auto bad = pconv(run + "-o " + p("q.png") + " --quality medium");
  EXPECT_EQ(bad.code, 2);
  EXPECT_NE(bad.output.find("--quality: medium not in {fast,best}"), std::string::npos) << bad.output;
}

TEST_F(Cli, Bf16RunsOnTheCpuAndFp16IsRefusedThere) {
  const std::string run = "inpaint " + common() + "-i " + p("photo.png") + " -m " + p("mask.png") + " ";
  const auto bf16 = pconv(run + "-o " + p("bf16.png") + " --precision bf16");
  ASSERT_EQ(bf16.code, 0) << bf16.output;
  EXPECT_EQ(cv::norm(load_image(dir / "bf16.png"), image, cv::NORM_INF, hole == 0), 0.0);
  const auto fp16 = pconv(run + "-o " + p("fp16.png") + " --precision fp16 --device cpu");
  EXPECT_EQ(fp16.code, 1);
  EXPECT_NE(fp16.output.find("precision fp16: LibTorch has no half-precision convolution on the CPU"),
            std::string::npos)
      << fp16.output;
  EXPECT_FALSE(fs::exists(dir / "fp16.png"));
}

TEST_F(Cli, TimingsNameEveryStageAndCountThePasses) {
  const auto r = pconv("inpaint " + common() + "-i " + p("photo.png") + " -m " + p("mask.png") + " -o " + p("out.png") +
                       " --ensemble 2 --timings");
  ASSERT_EQ(r.code, 0) << r.output;
  for (const char* stage : {"process start, library init", "model file read", "model file checked", "network built",
                            "weights copied in", "model prepared", "decode image", "mask (read, threshold)",
                            "network pass", "poisson blending", "encode and write", "total"})
    EXPECT_NE(r.output.find(stage), std::string::npos) << stage << "\n" << r.output;
  EXPECT_NE(r.output.find("(2 times"), std::string::npos) << r.output;
  const auto quiet =
      pconv("inpaint " + common() + "-i " + p("photo.png") + " -m " + p("mask.png") + " -o " + p("out2.png") + " -q");
  EXPECT_EQ(quiet.output.find("network pass"), std::string::npos) << quiet.output;
}

TEST_F(Cli, InvertedMaskAndAlphaMask) {
  cv::imwrite(p("paper_mask.png"), 255 - hole);
  ASSERT_EQ(pconv("inpaint " + common() + "-i " + p("photo.png") + " -m " + p("paper_mask.png") + " --invert-mask -o " +
                  p("a.png"))
                .code,
            0);
  ASSERT_EQ(pconv("inpaint " + common() + "-i " + p("photo.png") + " -m " + p("mask.png") + " -o " + p("b.png")).code,
            0);
  EXPECT_EQ(cv::norm(load_image(dir / "a.png"), load_image(dir / "b.png"), cv::NORM_INF), 0.0);

  cv::Mat rgba = test::test_image(96, 72, CV_8U, 4);
  std::vector<cv::Mat> planes;
  cv::split(rgba, planes);
  planes[3].setTo(0, hole);
  cv::merge(planes, rgba);
  cv::imwrite(p("transparent.png"), rgba);
  const auto r = pconv("inpaint " + common() + "-i " + p("transparent.png") + " -o " + p("c.png"));
  ASSERT_EQ(r.code, 0) << r.output;
  const cv::Mat out = load_image(dir / "c.png");
  ASSERT_EQ(out.channels(), 4);
  EXPECT_EQ(out.at<cv::Vec4b>(30, 30)[3], 255) << "filled pixels become opaque";
  EXPECT_EQ(cv::norm(out, rgba, cv::NORM_INF, hole == 0), 0.0);
}

TEST_F(Cli, SixteenBitGrayStaysSixteenBitGray) {
  cv::imwrite(p("gray16.png"), test::test_image(96, 72, CV_16U, 1));
  ASSERT_EQ(pconv("inpaint " + common() + "-i " + p("gray16.png") + " -m " + p("mask.png") + " -o " + p("g.png")).code,
            0);
  const cv::Mat out = load_image(dir / "g.png");
  EXPECT_EQ(out.type(), CV_16UC1);
}

TEST_F(Cli, FolderModeKeepsGoingPastABadFile) {
  fs::create_directories(dir / "in");
  fs::create_directories(dir / "masks");
  cv::imwrite(p("in/a.png"), image);
  cv::imwrite(p("in/b.jpg"), image);
  write_file_atomic(dir / "in" / "c.png", std::vector<uint8_t>{'n', 'o', 't'});
  cv::imwrite(p("masks/a.png"), hole);
  cv::imwrite(p("masks/b_mask001.png"), hole);  // LaMa's naming
  cv::imwrite(p("masks/c.png"), hole);
  const auto r = pconv("inpaint " + common() + "-i " + p("in") + " -m " + p("masks") + " -o " + p("out"));
  EXPECT_EQ(r.code, 1);
  EXPECT_NE(r.output.find("c.png"), std::string::npos) << r.output;
  EXPECT_NE(r.output.find("1 of 3 images failed"), std::string::npos) << r.output;
  EXPECT_TRUE(fs::exists(dir / "out" / "a.png"));
  EXPECT_TRUE(fs::exists(dir / "out" / "b.jpg")) << "JPEG in gives JPEG out";
  EXPECT_FALSE(fs::exists(dir / "out" / "c.png"));
  EXPECT_EQ(files_in(dir / "out"), 2u) << "no temporary files left";

  // One mask for every image.
  fs::remove(dir / "in" / "c.png");
  const auto one = pconv("inpaint " + common() + "-i " + p("in") + " -m " + p("mask.png") + " -o " + p("out2"));
  EXPECT_EQ(one.code, 0) << one.output;
  EXPECT_EQ(files_in(dir / "out2"), 2u);
  EXPECT_NE(pconv("inpaint " + common() + "-i " + p("in") + " -m " + p("mask.png") + " -o " + p("in")).code, 0);
}

TEST_F(Cli, ErrorsNameTheFileAndLeaveNoOutput) {
  struct Case {
    std::string args, needle;
  };
  write_file_atomic(dir / "corrupt.png", std::vector<uint8_t>(100, 7));
  write_file_atomic(dir / "bad.safetensors", std::vector<uint8_t>(64, 1));
  cv::imwrite(p("small_mask.png"), test::rect_hole(48, 36, {1, 1, 5, 5}));
  cv::imwrite(p("full_mask.png"), cv::Mat(72, 96, CV_8U, cv::Scalar(255)));
  // The first 60% of a JPEG: decoders fill the rest with grey and report success.
  std::vector<uint8_t> jpeg = encode_image(image, ".jpg", "test");
  jpeg.resize(jpeg.size() * 6 / 10);
  write_file_atomic(dir / "truncated.jpg", jpeg);
  // A PNG whose header says 20000x20000: refused before anything is decoded.
  std::vector<uint8_t> huge = {0x89, 'P',  'N',  'G', 0x0D, 0x0A, 0x1A, 0x0A, 0, 0, 0, 13, 'I', 'H', 'D', 'R', 0,
                               0,    0x4E, 0x20, 0,   0,    0x4E, 0x20, 8,    2, 0, 0, 0,  0,   0,   0,   0};
  write_file_atomic(dir / "huge.png", huge);
  const std::string io = "-i " + p("photo.png") + " -m " + p("mask.png");
  const std::vector<Case> cases = {
      {common() + "-i " + p("missing.png") + " -m " + p("mask.png") + " -o " + p("out.png"),
       "missing.png: no such file"},
      {common() + "-i " + p("corrupt.png") + " -m " + p("mask.png") + " -o " + p("out.png"),
       "corrupt.png: not a readable image"},
      {common() + "-i " + p("photo.png") + " -m " + p("missing_mask.png") + " -o " + p("out.png"), "missing_mask.png"},
      {common() + "-i " + p("photo.png") + " -o " + p("out.png"), "no alpha channel"},
      {common() + "-i " + p("photo.png") + " -m " + p("small_mask.png") + " -o " + p("out.png"), "48x36"},
      {common() + "-i " + p("photo.png") + " -m " + p("full_mask.png") + " -o " + p("out.png"),
       "covers the whole image"},
      {common() + io + " -o " + p("photo.png/out.png"), "photo.png: cannot create the output folder"},
      {common() + io + " -o " + p("out.unknown"), "cannot tell an image format"},
      {"--model " + p("bad.safetensors") + " " + io + " -o " + p("out.png"), "bad.safetensors"},
      {"--model " + p("nothing.safetensors") + " " + io + " -o " + p("out.png"), "nothing.safetensors: no such file"},
      {common() + io + " -o " + p("out.png") + " --device tpu", "device 'tpu'"},
      {common() + io + " -o " + p("out.png") + " --tile 100", "tile size 100"},
      {common() + io + " -o " + p("out.png") + " --overlap 400", "overlap 400"},
      {common() + io + " -o " + p("out.png") + " --ensemble 3", "ensemble 3"},
      {"--model " + model.string() + " " + io + " -o " + p("out.png") + " --threads=-1", "threads -1"},
      {"--model " + model.string() + " " + io + " -o " + p("out.png") + " --threads 100000", "threads 100000"},
      {common() + "-i " + p("truncated.jpg") + " -m " + p("mask.png") + " -o " + p("out.png"),
       "truncated.jpg: corrupt or truncated JPEG"},
      {common() + "-i " + p("huge.png") + " -m " + p("mask.png") + " -o " + p("out.png"),
       "huge.png: 20000x20000 is 400 megapixels, more than the limit of 64"},
      {common() + io + " -o " + p("out.png") + " --max-megapixels 0.001",
       "photo.png: 96x72 is 0.00691 megapixels, more than the limit of 0.001 (--max-megapixels)"},
      {common() + io + " -o " + p("photo.png"), "photo.png: this is the input image"},
      {common() + io + " -o " + p("mask.png"), "mask.png: this is the input mask"},
  };
  const size_t before = files_in(dir.path());
  for (const auto& c : cases) {
    const auto r = pconv("inpaint " + c.args);
    EXPECT_EQ(r.code, 1) << c.args << "\n" << r.output;
    EXPECT_NE(r.output.find(c.needle), std::string::npos) << "expected '" << c.needle << "' in: " << r.output;
    EXPECT_EQ(std::count(r.output.begin(), r.output.end(), '\n'), 1) << "one line: " << r.output;
  }
  EXPECT_EQ(files_in(dir.path()), before) << "no output or temporary file was left";
}

TEST_F(Cli, FolderModeRefusesToOverwriteMasksAndNamesBrokenLinks) {
  fs::create_directories(dir / "images");
  fs::create_directories(dir / "masks");
  cv::imwrite(p("images/a.png"), image);
  cv::imwrite(p("masks/a.png"), hole);
  fs::create_symlink(dir / "nowhere.png", dir / "images" / "b.png");
  const auto into_masks =
      pconv("inpaint " + common() + "-i " + p("images") + " -m " + p("masks") + " -o " + p("masks"));
  EXPECT_EQ(into_masks.code, 1) << into_masks.output;
  EXPECT_NE(into_masks.output.find("must differ from the mask folder"), std::string::npos) << into_masks.output;
  EXPECT_EQ(cv::countNonZero(load_image(dir / "masks" / "a.png") != hole), 0) << "the mask is intact";
  const auto r = pconv("inpaint " + common() + "-i " + p("images") + " -m " + p("masks") + " -o " + p("out"));
  EXPECT_EQ(r.code, 0) << r.output;
  EXPECT_NE(r.output.find("b.png: a link to nothing"), std::string::npos) << r.output;
}

TEST_F(Cli, ResizeMaskOnRequest) {
  cv::imwrite(p("half_mask.png"), test::rect_hole(48, 36, {10, 7, 15, 12}));
  const auto r = pconv("inpaint " + common() + "-i " + p("photo.png") + " -m " + p("half_mask.png") +
                       " --resize-mask -o " + p("out.png"));
  EXPECT_EQ(r.code, 0) << r.output;
  EXPECT_TRUE(fs::exists(dir / "out.png"));
}

TEST_F(Cli, EmptyMaskCopiesTheInputWithANote) {
  cv::imwrite(p("empty_mask.png"), cv::Mat::zeros(72, 96, CV_8U));
  const auto r =
      pconv("inpaint " + common() + "-i " + p("photo.png") + " -m " + p("empty_mask.png") + " -o " + p("same.png"));
  EXPECT_EQ(r.code, 0);
  EXPECT_NE(r.output.find("no hole pixels"), std::string::npos) << r.output;
  EXPECT_EQ(read_file(dir / "same.png"), read_file(dir / "photo.png"));
}

TEST_F(Cli, MistypedOptionsAndCommandsGetASuggestion) {
  const auto option = pconv("inpaint -i a.png -o b.png --ensembel 2");
  EXPECT_EQ(option.code, 2);
  EXPECT_NE(option.output.find("did you mean --ensemble instead of --ensembel?"), std::string::npos) << option.output;
  EXPECT_NE(option.output.find("see pconv inpaint --help"), std::string::npos) << option.output;
  EXPECT_EQ(std::count(option.output.begin(), option.output.end(), '\n'), 1) << option.output;
  const auto command = pconv("inpant -i a.png");
  EXPECT_EQ(command.code, 2);
  EXPECT_NE(command.output.find("did you mean 'pconv inpaint'?"), std::string::npos) << command.output;
  const auto far = pconv("inpaint -i a.png -o b.png --zzzzzzzz");
  EXPECT_EQ(far.output.find("did you mean"), std::string::npos) << far.output;
}

TEST_F(Cli, SingleFileModeCreatesTheOutputFolder) {
  const std::string io = "inpaint " + common() + "-i " + p("photo.png") + " -m " + p("mask.png");
  const auto nested = pconv(io + " -o " + p("new/deeper/out.png"));
  EXPECT_EQ(nested.code, 0) << nested.output;
  EXPECT_TRUE(fs::exists(dir / "new" / "deeper" / "out.png"));
  const auto folder = pconv(io + " -o " + p("results") + "/");
  EXPECT_EQ(folder.code, 0) << folder.output;
  EXPECT_TRUE(fs::exists(dir / "results" / "photo.png"));
}

TEST_F(Cli, DilateGrowsTheHoleAndNothingElseChanges) {
  const std::string io = "inpaint " + common() + "-i " + p("photo.png") + " -m " + p("mask.png");
  const auto r = pconv(io + " --dilate 4 -o " + p("grown.png"));
  ASSERT_EQ(r.code, 0) << r.output;
  const cv::Mat out = load_image(dir / "grown.png"), grown = grow_hole(hole, 4);
  EXPECT_EQ(cv::norm(out, image, cv::NORM_INF, grown == 0), 0.0);
  EXPECT_GT(cv::norm(out, image, cv::NORM_L1, grown & ~hole), 0.0) << "the band around the hole is filled too";
  const auto bad = pconv(io + " --dilate -1 -o " + p("bad.png"));
  EXPECT_EQ(bad.code, 2);
  EXPECT_NE(bad.output.find("--dilate"), std::string::npos) << bad.output;
  EXPECT_FALSE(fs::exists(dir / "bad.png"));
}

// A PNG with a colour profile libpng finds fault with: its complaint must not reach the user.
TEST_F(Cli, ColourProfileWarningsOfLibpngStayQuiet) {
  std::vector<uint8_t> png = read_file(dir / "photo.png");
  const std::string body = std::string("iCCP") + "icc" + '\0' + '\0' + "not a zlib stream at all";
  uint32_t crc = 0xFFFFFFFFu;
  for (const char c : body) {
    crc ^= static_cast<uint8_t>(c);
    for (int k = 0; k < 8; ++k) crc = (crc >> 1) ^ (0xEDB88320u & (0u - (crc & 1u)));
  }
  crc = ~crc;
  std::vector<uint8_t> chunk;
  const auto put32 = [&chunk](uint32_t v) {
    for (int shift = 24; shift >= 0; shift -= 8) chunk.push_back(static_cast<uint8_t>(v >> shift));
  };
  put32(static_cast<uint32_t>(body.size() - 4));
  chunk.insert(chunk.end(), body.begin(), body.end());
  put32(crc);
  png.insert(png.begin() + 33, chunk.begin(), chunk.end());  // after the signature and IHDR
  write_file_atomic(dir / "profiled.png", png);
  const auto r = pconv("inpaint " + common() + "-i " + p("profiled.png") + " -m " + p("mask.png") + " -o " +
                       p("out.png") + " --quiet");
  EXPECT_EQ(r.code, 0) << r.output;
  EXPECT_EQ(r.output, "") << "no libpng warning";
  EXPECT_EQ(load_image(dir / "profiled.png").size(), image.size());
}

TEST_F(Cli, GreyMaskPixelsGiveAWarning) {
  cv::imwrite(p("soft_mask.jpg"), hole, {cv::IMWRITE_JPEG_QUALITY, 30});
  const auto r =
      pconv("inpaint " + common() + "-i " + p("photo.png") + " -m " + p("soft_mask.jpg") + " -o " + p("out.png"));
  EXPECT_EQ(r.code, 0) << r.output;
  EXPECT_NE(r.output.find("neither black nor white"), std::string::npos) << r.output;
}

TEST_F(Cli, OptionErrorsNameTheFlag) {
  // The library names its options' fields; each command says the flag that sets them.
  test::write_photos(dir / "photos", 2, 64, 48);
  struct Case {
    std::string args, needle;
  };
  const std::vector<Case> cases = {
      {"serve --port 70000", "--port 70000: must be 0..65535"},
      {"serve --max-upload-mb 0", "--max-upload-mb: must be at least 1 KiB"},
      {"masks --out " + p("set") + " --count 0", "--count 0: must be at least 1"},
      {"masks --out " + p("set") + " --size 8", "--size 8x8: must be at least 16x16"},
      {"evaluate --images " + p("photos") + " --out " + p("r") + " --size 8",
       "--size 8: use 0 (native) or at least 32"},
      {"evaluate --images " + p("photos") + " --out " + p("r") + " --jobs 0", "--jobs 0: must be at least 1"},
      {"evaluate --images " + p("photos") + " --out " + p("r") + " --method a=" + model.string() +
           " --method a=" + model.string(),
       "two methods are both called 'a'"},
      {"evaluate --images " + p("photos") + " --out " + p("r") + " --method a=" + p("none.safetensors"),
       "none.safetensors: no such model file"},
      {"train --train " + p("photos") + " --out " + p("run") + " --pixel-loss --time-limit 20",
       "--time-limit '20': expected a duration such as 20m"},
      {"train --train " + p("photos") + " --out " + p("run") + " --pixel-loss --batch-size 0",
       "--batch-size 0: must be at least 1"},
      {"train --train " + p("photos") + " --out " + p("run"),
       "or choose --random-features or the pixel-space loss (--pixel-loss)"},
  };
  for (const auto& c : cases) {
    const auto r = pconv(c.args);
    EXPECT_EQ(r.code, 1) << c.args << "\n" << r.output;
    EXPECT_NE(r.output.find(c.needle), std::string::npos) << "expected '" << c.needle << "' in: " << r.output;
  }
}

TEST_F(Cli, TrainEndToEndWithConfigAndOverrides) {
  const auto help = pconv("train --help");
  EXPECT_EQ(help.code, 0);
  for (const char* s : {"--train", "--vgg", "--pixel-loss", "--iterations INT=1000", "--lr FLOAT=0.0002", "--resume",
                        "--finetune-from INT=-1", "--config"})
    EXPECT_NE(help.output.find(s), std::string::npos) << s;

  test::write_photos(dir / "photos", 3, 64, 48);
  const auto refused = pconv("train --train " + p("photos") + " --out " + p("run0"));
  EXPECT_EQ(refused.code, 1);
  EXPECT_NE(refused.output.find("--pixel-loss"), std::string::npos) << refused.output;

  const std::string config = R"({"pixel_loss": true, "image_size": 32, "depth": 3, "width": 0.125,
                                 "batch_size": 2, "iterations": 50, "threads": 1, "workers": 1})";
  write_file_atomic(dir / "config.json", config.data(), config.size());
  const auto r =
      pconv("train --config " + p("config.json") + " --train " + p("photos") + " --iterations 4 --out " + p("run"));
  ASSERT_EQ(r.code, 0) << r.output;
  EXPECT_NE(r.output.find("\"steps\":4"), std::string::npos) << r.output;
  const auto saved = read_file(dir / "run" / "config.json");
  const std::string text(saved.begin(), saved.end());
  EXPECT_NE(text.find("\"iterations\": 4"), std::string::npos) << "the flag overrides the file: " << text;
  EXPECT_NE(text.find("\"image_size\": 32"), std::string::npos) << text;
  EXPECT_EQ(pconv("info " + p("run/model.safetensors")).code, 0);
  // Extending the run: --resume reads the run's own config; the flag raises the step count.
  const auto more = pconv("train --out " + p("run") + " --resume --iterations 6");
  EXPECT_EQ(more.code, 0) << more.output;
  EXPECT_NE(more.output.find("\"steps\":6"), std::string::npos) << more.output;
  const auto bad = pconv("train --config " + p("photos/photo0.jpg") + " --out " + p("run2"));
  EXPECT_EQ(bad.code, 1);
  EXPECT_NE(bad.output.find("photo0.jpg: not valid JSON"), std::string::npos) << bad.output;
}

TEST_F(Cli, MasksAndEvaluateEndToEnd) {
  EXPECT_EQ(pconv("masks --help").code, 0);
  EXPECT_NE(pconv("evaluate --help").output.find("--method TEXT"), std::string::npos);
  const auto masks = pconv("masks --out " + p("set") + " --count 2 --size 64 --seed 3");
  ASSERT_EQ(masks.code, 0) << masks.output;
  EXPECT_TRUE(fs::exists(dir / "set" / "0.3-0.4" / "no_border" / "00001.png"));
  test::write_photos(dir / "photos", 2, 80, 64);
  const auto r = pconv("evaluate --images " + p("photos") + " --masks " + p("set") +
                       " --size 64 --method telea --method " + model.string() + " --out " + p("report") + " --jobs 1");
  ASSERT_EQ(r.code, 0) << r.output;
  EXPECT_NE(r.output.find("| Telea (OpenCV) |"), std::string::npos) << r.output;
  // A model named model.safetensors is labelled by its folder, as pconv train's runs are.
  EXPECT_NE(r.output.find("PConv U-Net (" + dir.path().filename().string() + ")"), std::string::npos) << r.output;
  EXPECT_TRUE(fs::exists(dir / "report" / "report.html"));
  // Each column says how many samples it has; each winner, the spread of its mean.
  EXPECT_NE(r.output.find("0.3-0.4 N (n=2)"), std::string::npos) << r.output;
  EXPECT_NE(r.output.find("** ±"), std::string::npos) << r.output;
  // Named models; with no method named, the bundled models against Telea and Navier-Stokes.
  const auto named = pconv("evaluate --images " + p("photos") + " --masks " + p("set") +
                           " --size 64 --method mine=" + model.string() + " --out " + p("named") + " --jobs 1");
  ASSERT_EQ(named.code, 0) << named.output;
  EXPECT_NE(named.output.find("| mine |"), std::string::npos) << named.output;
  const auto defaults =
      pconv("evaluate --images " + p("photos") + " --size 64 --per-category 1 --out " + p("defaults") + " --jobs 1");
  ASSERT_EQ(defaults.code, 0) << defaults.output;
  for (const char* method : {"| PConv U-Net (pconv.safetensors) |", "| PConv U-Net (pconv-textured.safetensors) |",
                             "| Telea (OpenCV) |", "| Navier-Stokes (OpenCV) |"})
    EXPECT_NE(defaults.output.find(method), std::string::npos) << method << "\n" << defaults.output;
  const auto bad = pconv("evaluate --images " + p("nothing") + " --out " + p("r2"));
  EXPECT_EQ(bad.code, 1);
  EXPECT_NE(bad.output.find("nothing"), std::string::npos) << bad.output;
  const auto too_big = pconv("evaluate --images " + p("photos") + " --size 64 --method telea --out " + p("r3") +
                             " --jobs 1 --max-megapixels 0.001");
  EXPECT_EQ(too_big.code, 1);
  EXPECT_NE(too_big.output.find("80x64 is 0.00512 megapixels, more than the limit of 0.001"), std::string::npos)
      << too_big.output;
}

// Models of other projects: imported once, then used by every command like pconv's own.
TEST_F(Cli, ImportedModelsFillEvaluateAndFineTune) {
  const fs::path data = fs::path(PCONV_TEST_DATA) / "import";
  const auto help = pconv("import --help");
  EXPECT_EQ(help.code, 0);
  for (const char* s : {"--from TEXT:{auto,keras,naoto,sneakysketchers,sunnerli}=auto", "--out", "--depth"})
    EXPECT_NE(help.output.find(s), std::string::npos) << s << "\n" << help.output;

  const auto naoto = pconv("import " + (data / "naoto.pth").string() + " --out " + p("naoto.safetensors"));
  ASSERT_EQ(naoto.code, 0) << naoto.output;
  EXPECT_NE(naoto.output.find("imported naoto0804/pytorch-inpainting-with-partial-conv"), std::string::npos)
      << naoto.output;
  EXPECT_NE(naoto.output.find("weights divided by C_in"), std::string::npos) << naoto.output;
  const auto info = pconv("info " + p("naoto.safetensors"));
  EXPECT_NE(info.output.find("\"sha256\": \"" + sha256_hex(read_file(data / "naoto.pth")) + "\""), std::string::npos)
      << info.output;
  const auto sneaky = pconv("import " + (data / "sneakysketchers.pth").string() + " -o " + p("sneaky.safetensors"));
  ASSERT_EQ(sneaky.code, 0) << sneaky.output;
  EXPECT_NE(sneaky.output.find("depth 7 (the source's predict.py default"), std::string::npos) << sneaky.output;

  for (const char* source : {"keras.h5", "sunnerli.pth"})
    ASSERT_EQ(pconv("import " + (data / source).string() + " --out " + p(std::string(source) + ".safetensors")).code, 0)
        << source;
  for (const char* model :
       {"naoto.safetensors", "sneaky.safetensors", "keras.h5.safetensors", "sunnerli.pth.safetensors"}) {
    const auto r = pconv("inpaint --model " + p(model) + " --threads 1 --ensemble 2 -i " + p("photo.png") + " -m " +
                         p("mask.png") + " -o " + p(std::string(model) + ".png"));
    ASSERT_EQ(r.code, 0) << model << ": " << r.output;
    const cv::Mat out = load_image(dir / (std::string(model) + ".png"));
    EXPECT_EQ(cv::norm(out, image, cv::NORM_INF, hole == 0), 0.0) << model;
  }
  ASSERT_EQ(pconv("masks --out " + p("set") + " --count 1 --size 128 --seed 3").code, 0);
  test::write_photos(dir / "photos", 2, 128, 128);
  const auto eval = pconv("evaluate --images " + p("photos") + " --masks " + p("set") + " --size 128 --method " +
                          p("sneaky.safetensors") + " --out " + p("report") + " --jobs 1");
  ASSERT_EQ(eval.code, 0) << eval.output;
  EXPECT_NE(eval.output.find("(sneaky.safetensors)"), std::string::npos) << eval.output;
  // Fine-tuning on one's own photos starts from the imported weights and keeps their origin.
  const auto train =
      pconv("train --init " + p("naoto.safetensors") + " --pixel-loss --train " + p("photos") +
            " --image-size 64 --batch-size 2 --iterations 2 --threads 1 --workers 1 --out " + p("tuned"));
  ASSERT_EQ(train.code, 0) << train.output;
  EXPECT_NE(pconv("info " + p("tuned/model.safetensors")).output.find("naoto0804"), std::string::npos);

  // Refused, with one line and nothing written.
  const auto code = pconv("import " + (data / "runs-code.pth").string() + " --out " + p("bad.safetensors"));
  EXPECT_EQ(code.code, 1);
  EXPECT_NE(code.output.find("refusing the global posix.system"), std::string::npos) << code.output;
  EXPECT_EQ(std::count(code.output.begin(), code.output.end(), '\n'), 1) << code.output;
  EXPECT_FALSE(fs::exists(dir / "bad.safetensors"));
  const auto unknown = pconv("import " + (data / "tensors.pth").string() + " --out " + p("bad.safetensors"));
  EXPECT_EQ(unknown.code, 1);
  EXPECT_NE(unknown.output.find("of no known PConv project"), std::string::npos) << unknown.output;
  const auto depth = pconv("import " + (data / "naoto.pth").string() + " --depth 7 --out " + p("bad.safetensors"));
  EXPECT_NE(depth.output.find("--depth 7 does not match the file"), std::string::npos) << depth.output;
  EXPECT_FALSE(fs::exists(dir / "bad.safetensors"));
}

TEST_F(Cli, ExportWritesOnnxAndRefusesWhatIsNotAModel) {
  const auto r = pconv("export " + model.string() + " --onnx " + p("model.onnx"));
  if (r.output.find("built without ONNX support") != std::string::npos) GTEST_SKIP() << r.output;
  ASSERT_EQ(r.code, 0) << r.output;
  EXPECT_NE(r.output.find("(ONNX opset 13)"), std::string::npos) << r.output;
  EXPECT_NE(r.output.find("H and W multiples of 8"), std::string::npos) << r.output;
  EXPECT_GT(fs::file_size(dir / "model.onnx"), 10000u);

  const auto not_a_model = pconv("export " + p("photo.png") + " --onnx " + p("photo.onnx"));
  EXPECT_NE(not_a_model.code, 0);
  EXPECT_NE(not_a_model.output.find("photo.png"), std::string::npos) << not_a_model.output;
  EXPECT_EQ(std::count(not_a_model.output.begin(), not_a_model.output.end(), '\n'), 1) << not_a_model.output;
  EXPECT_FALSE(fs::exists(dir / "photo.onnx"));
  const auto no_folder = pconv("export " + model.string() + " --onnx " + p("missing/model.onnx"));
  EXPECT_NE(no_folder.code, 0);
  EXPECT_NE(no_folder.output.find("missing/model.onnx"), std::string::npos) << no_folder.output;
  EXPECT_NE(pconv("export " + model.string()).code, 0) << "--onnx is required";
}

TEST_F(Cli, InfoPrintsTheArchitecture) {
  const auto r = pconv("info " + model.string());
  EXPECT_EQ(r.code, 0) << r.output;
  EXPECT_NE(r.output.find("\"pconv-unet\""), std::string::npos) << r.output;
}

}  // namespace
}  // namespace pconv

namespace pconv {
namespace {

// The README's first command: the bundled model (its SHA-256 checked on load) removes the
// ladybird, leaving the green of the stem and background where its red was.
TEST(BundledModel, FillsTheExample) {
  test::TempDir dir;
  const std::filesystem::path src = PCONV_SOURCE_DIR;
  const auto r = pconv("inpaint --threads 2 --image " + (src / "examples/ladybird.jpg").string() + " --mask " +
                       (src / "examples/ladybird_mask.png").string() + " --output " + (dir / "out.png").string());
  ASSERT_EQ(r.code, 0) << r.output;
  const cv::Mat input = load_image(src / "examples/ladybird.jpg"), output = load_image(dir / "out.png");
  const cv::Mat hole = binarize_mask(load_image(src / "examples/ladybird_mask.png")).hole;
  cv::Mat diff;
  cv::absdiff(input, output, diff);
  cv::cvtColor(diff, diff, cv::COLOR_BGR2GRAY);
  EXPECT_EQ(cv::countNonZero(diff & ~hole), 0);
  const cv::Scalar before = cv::mean(input, hole), after = cv::mean(output, hole);  // BGR
  // Green minus red over the hole: the red ladybird pulls it down, the fill brings it up.
  EXPECT_GT(after[1] - after[2], before[1] - before[2] + 20) << "before " << before << ", after " << after;
}

// Mean Sobel gradient magnitude of the luma inside `hole`, away from its edge.
double hole_detail(const cv::Mat& image, const cv::Mat& hole) {
  cv::Mat gray, gx, gy, magnitude, inner;
  cv::cvtColor(image, gray, cv::COLOR_BGR2GRAY);
  gray.convertTo(gray, CV_32F);
  cv::Sobel(gray, gx, CV_32F, 1, 0);
  cv::Sobel(gray, gy, CV_32F, 0, 1);
  cv::magnitude(gx, gy, magnitude);
  cv::erode(hole, inner, cv::Mat(), {-1, -1}, 3);
  return cv::mean(magnitude, inner)[0];
}

// --style textured: the bundled textured model fills the same hole with more detail than the
// smooth one, and still touches nothing outside it; it is a choice among bundled models only.
TEST(BundledModel, TexturedStyleFillsWithMoreDetail) {
  test::TempDir dir;
  const std::filesystem::path src = PCONV_SOURCE_DIR;
  const std::string photo = (src / "examples/ladybird.jpg").string();
  const std::string mask = (src / "examples/ladybird_mask.png").string();
  const std::string common = "inpaint --threads 2 --image " + photo + " --mask " + mask + " --output ";
  const auto smooth = pconv(common + (dir / "smooth.png").string());
  ASSERT_EQ(smooth.code, 0) << smooth.output;
  const auto textured = pconv(common + (dir / "textured.png").string() + " --style textured");
  ASSERT_EQ(textured.code, 0) << textured.output;
  const cv::Mat input = load_image(photo), hole = binarize_mask(load_image(mask)).hole;
  const cv::Mat a = load_image(dir / "smooth.png"), b = load_image(dir / "textured.png");
  cv::Mat diff;
  cv::absdiff(input, b, diff);
  cv::cvtColor(diff, diff, cv::COLOR_BGR2GRAY);
  EXPECT_EQ(cv::countNonZero(diff & ~hole), 0);
  EXPECT_GT(hole_detail(b, hole), 1.2 * hole_detail(a, hole))
      << "smooth " << hole_detail(a, hole) << ", textured " << hole_detail(b, hole);

  const auto both = pconv(common + (dir / "x.png").string() + " --style textured --model " +
                          (src / "models/pconv.safetensors").string());
  EXPECT_EQ(both.code, 2);
  EXPECT_NE(both.output.find("--model excludes --style"), std::string::npos) << both.output;
  const auto unknown = pconv(common + (dir / "x.png").string() + " --style grainy");
  EXPECT_EQ(unknown.code, 2);
  EXPECT_NE(unknown.output.find("grainy"), std::string::npos) << unknown.output;
  EXPECT_FALSE(std::filesystem::exists(dir / "x.png"));
}

}  // namespace
}  // namespace pconv
