#include "pconv/export/onnx.h"

#include <cstring>
#include <limits>
#include <map>
#include <utility>
#include <vector>

#include "pconv/io/error.h"
#include "pconv/io/files.h"

#ifdef PCONV_HAVE_ONNX
#include <onnx/onnx_pb.h>
#endif

namespace pconv {

#ifndef PCONV_HAVE_ONNX

bool onnx_export_available() { return false; }

std::string onnx_model_bytes(const Model&) {
  throw Error("this pconv was built without ONNX support: install libonnx-dev and rebuild to export models");
}

#else

bool onnx_export_available() { return true; }

namespace {

using Names = std::vector<std::string>;

// Builds the graph node by node; every value is named after the layer that makes it
// ("pconv3/ratio"), so the graph reads like PConvUNet::forward in a viewer such as Netron.
class GraphWriter {
 public:
  explicit GraphWriter(onnx::GraphProto& graph) : graph_(graph) {}

  /// A float32 initializer named `name`.
  std::string constant(const std::string& name, const torch::Tensor& value) {
    const torch::Tensor t = value.detach().to(torch::kCPU, torch::kFloat32).contiguous();
    onnx::TensorProto* init = graph_.add_initializer();
    init->set_name(name);
    init->set_data_type(onnx::TensorProto::FLOAT);
    for (const int64_t d : t.sizes()) init->add_dims(d);
    // Little-endian raw data, as ONNX specifies (and as x86 and ARM hold floats).
    init->set_raw_data(t.data_ptr(), static_cast<size_t>(t.numel()) * sizeof(float));
    return name;
  }

  /// A float scalar, shared by every node that uses the same value.
  std::string scalar(float value) {
    auto [it, added] = scalars_.try_emplace(value, "");
    if (added) it->second = constant("const/" + std::to_string(scalars_.size()), torch::tensor(value));
    return it->second;
  }

  onnx::NodeProto& node(const std::string& op, const Names& inputs, const std::string& output) {
    onnx::NodeProto* n = graph_.add_node();
    n->set_op_type(op);
    n->set_name(output);
    for (const auto& in : inputs) n->add_input(in);
    n->add_output(output);
    return *n;
  }

  /// Renames the value the last node wrote (the graph's output takes a name of its own).
  void rename_last_output(const std::string& name) { graph_.mutable_node(graph_.node_size() - 1)->set_output(0, name); }

  std::string op(const std::string& op, const Names& inputs, const std::string& output) {
    node(op, inputs, output);
    return output;
  }

  static void ints(onnx::NodeProto& n, const std::string& name, const std::vector<int64_t>& values) {
    onnx::AttributeProto* a = n.add_attribute();
    a->set_name(name);
    a->set_type(onnx::AttributeProto::INTS);
    for (const int64_t v : values) a->add_ints(v);
  }

  template <typename Setter>
  static void attribute(onnx::NodeProto& n, const std::string& name, onnx::AttributeProto::AttributeType type,
                        Setter set) {
    onnx::AttributeProto* a = n.add_attribute();
    a->set_name(name);
    a->set_type(type);
    set(*a);
  }

  /// A k×k convolution; kernel_shape is written although ONNX could infer it, since OpenCV's
  /// importer requires it.
  std::string conv(const Names& inputs, const std::string& output, int64_t kernel, int64_t stride) {
    onnx::NodeProto& n = node("Conv", inputs, output);
    ints(n, "kernel_shape", {kernel, kernel});
    ints(n, "strides", {stride, stride});
    const int64_t pad = kernel / 2;
    ints(n, "pads", {pad, pad, pad, pad});
    return output;
  }

  /// Concatenation along channels.
  std::string concat(const Names& inputs, const std::string& output) {
    attribute(node("Concat", inputs, output), "axis", onnx::AttributeProto::INT,
              [](onnx::AttributeProto& a) { a.set_i(1); });
    return output;
  }

  std::string leaky_relu(const std::string& input, const std::string& output) {
    attribute(node("LeakyRelu", {input}, output), "alpha", onnx::AttributeProto::FLOAT,
              [](onnx::AttributeProto& a) { a.set_f(0.2f); });
    return output;
  }

  /// Nearest ×2, as PyTorch's interpolate(mode=nearest): output pixel (y, x) reads (⌊y/2⌋, ⌊x/2⌋).
  std::string upsample2(const std::string& input, const std::string& output) {
    if (upsample_scales_.empty())
      upsample_scales_ = constant("const/upsample_scales", torch::tensor({1.0f, 1.0f, 2.0f, 2.0f}));
    onnx::NodeProto& n = node("Resize", {input, "", upsample_scales_}, output);
    const auto text = [&](const char* name, const char* value) {
      attribute(n, name, onnx::AttributeProto::STRING, [&](onnx::AttributeProto& a) { a.set_s(value); });
    };
    text("mode", "nearest");
    text("coordinate_transformation_mode", "asymmetric");
    text("nearest_mode", "floor");
    return output;
  }

 private:
  onnx::GraphProto& graph_;
  std::map<float, std::string> scalars_;
  std::string upsample_scales_;
};

// The network, layer by layer, as PConvUNetImpl::forward_partial and forward_plain compute it.
class UNetWriter {
 public:
  UNetWriter(const Model& model, GraphWriter& graph)
      : options_(model.info.architecture), graph_(graph), net_(model.net), state_(model_state(net_)) {}

  std::string write(const std::string& image, const std::string& mask) {
    return finish(options_.partial() ? partial(image, mask) : plain(image, mask));
  }

 private:
  struct Masked {
    std::string x, mask, valid_count;  // features ⊙ mask; mask (N,1,H,W); valid input channels per pixel
  };

  std::string partial(const std::string& image, const std::string& mask) {
    const int64_t depth = options_.depth();
    std::vector<std::string> features{graph_.op("Mul", {image, mask}, "input/masked")}, masks{mask};
    std::vector<int64_t> channels{3};
    for (int64_t layer = 1; layer <= depth; ++layer) {
      const std::string valid =
          graph_.op("Mul", {masks.back(), graph_.scalar(static_cast<float>(channels.back()))}, name(layer, "valid"));
      auto [y, m] = partial_conv(layer, features.back(), valid);
      y = graph_.op("Relu", {y}, name(layer, "relu"));
      features.push_back(graph_.op("Mul", {y, m}, name(layer, "out")));
      masks.push_back(m);
      channels.push_back(options_.layer(layer).out);
    }
    std::string x = features.back(), m = masks.back();
    int64_t x_channels = channels.back();
    for (int64_t layer = depth + 1; layer <= 2 * depth; ++layer) {
      const int64_t skip = 2 * depth - layer;
      const std::string up_mask = graph_.upsample2(m, name(layer, "up_mask"));
      const std::string valid = graph_.op(
          "Add",
          {graph_.op("Mul", {up_mask, graph_.scalar(static_cast<float>(x_channels))}, name(layer, "up_valid")),
           graph_.op("Mul", {masks[skip], graph_.scalar(static_cast<float>(channels[skip]))},
                     name(layer, "skip_valid"))},
          name(layer, "valid"));
      const std::string joined =
          graph_.concat({graph_.upsample2(x, name(layer, "up")), features[skip]}, name(layer, "joined"));
      std::string y;
      std::tie(y, m) = partial_conv(layer, joined, valid);
      x_channels = options_.layer(layer).out;
      if (layer < 2 * depth) {
        x = graph_.op("Mul", {graph_.leaky_relu(y, name(layer, "leaky")), m}, name(layer, "out"));
        continue;
      }
      x = last_layer(layer, y, m, ratio_);
    }
    return x;
  }

  // The last layer: no BN, its bias where a valid input reaches it, and the variants of
  // imported models. `y` is the re-weighted convolution, zero in holes since the ratio is.
  std::string last_layer(int64_t layer, const std::string& y, const std::string& m, const std::string& ratio) {
    const std::string bias =
        graph_.constant(name(layer, "bias"), state_.at(conv_name(layer) + ".bias").view({-1, 1, 1}));
    // y + b·m = (y + b)·m, as y is 0 where m is.
    std::string x = graph_.op("Mul", {graph_.op("Add", {y, bias}, name(layer, "biased")), m}, name(layer, "out"));
    if (options_.reweight_output_twice()) x = graph_.op("Mul", {x, ratio}, name(layer, "reweighted_twice"));
    if (options_.output_bias_in_holes()) {
      // + b·(1 − m), as a 1×1 convolution of the hole map with the bias as its weights: a
      // broadcast of (N,1,H,W) against (1,3,1,1) that every runtime supports.
      const std::string hole =
          graph_.op("Add", {graph_.op("Mul", {m, graph_.scalar(-1.0f)}, name(layer, "neg_mask")), graph_.scalar(1.0f)},
                    name(layer, "hole"));
      const std::string weights =
          graph_.constant(name(layer, "hole_bias"), state_.at(conv_name(layer) + ".bias").view({-1, 1, 1, 1}));
      x = graph_.op("Add", {x, graph_.conv({hole, weights}, name(layer, "bias_in_holes"), 1, 1)},
                    name(layer, "with_holes"));
    }
    return x;
  }

  // The partial convolution of PartialConv2dImpl::forward_masked with the layer's BN folded in:
  // returns BN(W·X·ratio [+ b]) and the new mask; also leaves the ratio in ratio_.
  std::pair<std::string, std::string> partial_conv(int64_t layer, const std::string& x, const std::string& valid) {
    const auto shape = options_.layer(layer);
    const std::string window = this->window(shape.kernel);
    const std::string count = graph_.conv({valid, window}, name(layer, "count"), shape.kernel, shape.stride);
    // For the counts c (small non-negative integers, exact in float): max(c, 1) = relu(c − 1) + 1,
    // the new mask m' = c / max(c, 1) (1 where c ≥ 1, else 0), and ratio = m'·sum(1) / max(c, 1).
    // No comparison: OpenCV 4.6's dnn cannot compare a batch of several images with a scalar.
    const std::string at_least_one =
        graph_.op("Add",
                  {graph_.op("Relu", {graph_.op("Sub", {count, graph_.scalar(1.0f)}, name(layer, "count_less_1"))},
                             name(layer, "count_over_1")),
                   graph_.scalar(1.0f)},
                  name(layer, "count_at_least_1"));
    const std::string new_mask = graph_.op("Div", {count, at_least_one}, name(layer, "mask"));
    const float window_size = static_cast<float>(shape.in * shape.kernel * shape.kernel);
    ratio_ = graph_.op(
        "Div", {graph_.op("Mul", {new_mask, graph_.scalar(window_size)}, name(layer, "window_size")), at_least_one},
        name(layer, "ratio"));
    const auto [weight, shift] = folded(layer);
    const std::string conv = graph_.conv({x, graph_.constant(name(layer, "weight"), weight)}, name(layer, "conv"),
                                         shape.kernel, shape.stride);
    std::string y = graph_.op("Mul", {conv, ratio_}, name(layer, "reweighted"));
    // The last layer's bias applies where m' = 1 only (last_layer); a BN shift applies everywhere,
    // and so may the first layer's bias, since ReLU and the mask follow.
    if (layer != 2 * options_.depth())
      y = graph_.op("Add", {y, graph_.constant(name(layer, "shift"), shift.view({-1, 1, 1}))}, name(layer, "bn"));
    return {y, new_mask};
  }

  std::string plain(const std::string& image, const std::string& mask) {
    const int64_t depth = options_.depth();
    std::vector<std::string> features{
        graph_.concat({graph_.op("Mul", {image, mask}, "input/masked"), mask}, "input/with_mask")};
    for (int64_t layer = 1; layer <= depth; ++layer)
      features.push_back(graph_.op("Relu", {plain_conv(layer, features.back())}, name(layer, "out")));
    std::string x = features.back();
    for (int64_t layer = depth + 1; layer <= 2 * depth; ++layer) {
      const int64_t skip = 2 * depth - layer;
      const std::string joined =
          graph_.concat({graph_.upsample2(x, name(layer, "up")), features[skip]}, name(layer, "joined"));
      x = plain_conv(layer, joined);
      if (layer < 2 * depth) x = graph_.leaky_relu(x, name(layer, "out"));
    }
    return x;
  }

  std::string plain_conv(int64_t layer, const std::string& x) {
    const auto shape = options_.layer(layer);
    const auto [weight, shift] = folded(layer);
    return graph_.conv({x, graph_.constant(name(layer, "weight"), weight), graph_.constant(name(layer, "bias"), shift)},
                       name(layer, "conv"), shape.kernel, shape.stride);
  }

  // PConv-Keras's head and the output activations.
  std::string finish(std::string x) {
    if (options_.output_head()) {
      const std::string leaky = graph_.leaky_relu(x, "head/leaky");
      x = graph_.conv({leaky, graph_.constant("head/weight", state_.at("head.weight")),
                       graph_.constant("head/bias", state_.at("head.bias"))},
                      "head/conv", 1, 1);
    }
    switch (options_.output_activation()) {
      case PConvUNetOptions::Activation::tanh:
        return graph_.op("Tanh", {x}, "output/tanh");
      case PConvUNetOptions::Activation::sigmoid:
        return graph_.op("Sigmoid", {x}, "output/sigmoid");
      case PConvUNetOptions::Activation::none:
        break;
    }
    return x;
  }

  // The layer's weights with its BN folded in (W·s, and β − μ·s as the shift, s = γ/√(σ²+ε)),
  // or its own weights and bias where it has no BN; computed in double, then rounded once.
  std::pair<torch::Tensor, torch::Tensor> folded(int64_t layer) const {
    const std::string conv = conv_name(layer);
    const torch::Tensor weight = state_.at(conv + ".weight").to(torch::kFloat64);
    if (!options_.layer(layer).bn) return {weight, state_.at(conv + ".bias").to(torch::kFloat64)};
    const std::string bn = "bn" + std::to_string(layer);
    const double eps = net_->named_children()[bn]->as<torch::nn::BatchNorm2dImpl>()->options.eps();
    const auto get = [&](const char* field) { return state_.at(bn + field).to(torch::kFloat64); };
    const torch::Tensor scale = get(".weight") / torch::sqrt(get(".running_var") + eps);
    return {weight * scale.view({-1, 1, 1, 1}), get(".bias") - get(".running_mean") * scale};
  }

  std::string window(int64_t kernel) {
    auto [it, added] = windows_.try_emplace(kernel, "");
    if (added)
      it->second = graph_.constant("const/window" + std::to_string(kernel), torch::ones({1, 1, kernel, kernel}));
    return it->second;
  }

  std::string conv_name(int64_t layer) const { return (options_.partial() ? "pconv" : "conv") + std::to_string(layer); }
  std::string name(int64_t layer, const std::string& what) const { return conv_name(layer) + "/" + what; }

  const PConvUNetOptions& options_;
  GraphWriter& graph_;
  PConvUNet net_;
  std::map<std::string, torch::Tensor> state_;
  std::map<int64_t, std::string> windows_;
  std::string ratio_;
};

void tensor_input(onnx::ValueInfoProto* value, const std::string& name, int64_t channels) {
  value->set_name(name);
  onnx::TypeProto::Tensor* type = value->mutable_type()->mutable_tensor_type();
  type->set_elem_type(onnx::TensorProto::FLOAT);
  onnx::TensorShapeProto* shape = type->mutable_shape();
  shape->add_dim()->set_dim_param("N");
  shape->add_dim()->set_dim_value(channels);
  shape->add_dim()->set_dim_param("H");
  shape->add_dim()->set_dim_param("W");
}

void property(onnx::ModelProto& model, const std::string& key, const std::string& value) {
  onnx::StringStringEntryProto* entry = model.add_metadata_props();
  entry->set_key(key);
  entry->set_value(value);
}

}  // namespace

std::string onnx_model_bytes(const Model& model) {
  TORCH_CHECK(!model.net->is_training(), "onnx_model_bytes: the network must be in evaluation mode");
  const PConvUNetOptions& a = model.info.architecture;
  onnx::ModelProto proto;
  proto.set_ir_version(7);  // the IR of opset 13
  proto.set_producer_name("pconv");
  proto.set_producer_version(PCONV_VERSION);
  proto.set_domain("org.pconv");
  proto.set_model_version(1);
  proto.set_doc_string("The partial-convolution U-Net of Liu et al. (ECCV 2018), exported by pconv");
  onnx::OperatorSetIdProto* opset = proto.add_opset_import();
  opset->set_domain("");
  opset->set_version(kOnnxOpset);

  onnx::GraphProto& graph = *proto.mutable_graph();
  graph.set_name(a.partial() ? "PConvUNet" : "UNet");
  tensor_input(graph.add_input(), "image", 3);
  tensor_input(graph.add_input(), "mask", 1);
  tensor_input(graph.add_output(), "prediction", 3);
  GraphWriter writer(graph);
  UNetWriter(model, writer).write("image", "mask");
  writer.rename_last_output("prediction");

  const Normalization& n = model.info.normalization;
  const nlohmann::json mean(n.mean), std(n.std);
  property(proto, "pconv", model_metadata_json(model.info).dump());
  property(proto, "size_multiple", std::to_string(a.size_multiple()));
  property(proto, "normalization_mean", mean.dump());
  property(proto, "normalization_std", std.dump());
  property(proto, "image",
           "float32 (N,3,H,W): RGB in [0,1], then (x - mean) / std per channel with normalization_mean and "
           "normalization_std; H and W multiples of size_multiple; values in holes do not matter");
  property(proto, "mask", "float32 (N,1,H,W): 1 = valid, 0 = hole, nothing in between");
  property(proto, "prediction",
           "float32 (N,3,H,W) in the image's space (x * std + mean is RGB, to clamp to [0,1]); the fill is the "
           "image where mask = 1 and the prediction in holes");

  if (proto.ByteSizeLong() > static_cast<size_t>(std::numeric_limits<int>::max()))
    throw Error("the network's " + std::to_string(proto.ByteSizeLong() >> 20) +
                " MiB exceed the 2 GiB of one ONNX file; pconv does not write external data files");
  std::string bytes;
  if (!proto.SerializeToString(&bytes)) throw Error("could not serialise the ONNX graph");
  return bytes;
}

#endif

void write_onnx(const std::filesystem::path& path, const Model& model) {
  const std::string bytes = onnx_model_bytes(model);
  write_file_atomic(path, bytes.data(), bytes.size());
}

}  // namespace pconv
