#include "pconv/nn/upsample_conv.h"

namespace pconv {

torch::Tensor upsample_phase_kernel(const torch::Tensor& weight, int64_t low_channels, int row_parity,
                                    int column_parity) {
  TORCH_CHECK(weight.dim() == 4 && weight.size(2) == 3 && weight.size(3) == 3,
              "upsample_phase_kernel: expected a 3x3 kernel, got ", weight.sizes());
  const torch::Tensor low = weight.narrow(1, 0, low_channels);
  // Written tap by tap into the result, in the weight's memory format (torch::zeros would ignore
  // it), so that oneDNN takes it as it is.
  torch::Tensor kernel =
      torch::empty({weight.size(0), low_channels, 2, 2}, weight.options().memory_format(weight.suggest_memory_format()))
          .zero_();
  // Where tap k (0..2) of the 3-tap window lands among the two low-resolution taps of parity p.
  constexpr int kTarget[2][3] = {{0, 1, 1}, {0, 0, 1}};
  for (int ky = 0; ky < 3; ++ky)
    for (int kx = 0; kx < 3; ++kx)
      kernel.select(3, kTarget[column_parity][kx])
          .select(2, kTarget[row_parity][ky])
          .add_(low.select(3, kx).select(2, ky));
  return kernel;
}

torch::Tensor upsample_concat_conv(const torch::Tensor& low, const torch::Tensor& skip, const torch::Tensor& weight) {
  const int64_t n = low.size(0), c_low = low.size(1), h = low.size(2), w = low.size(3), c_out = weight.size(0);
  TORCH_CHECK(skip.dim() == 4 && skip.size(0) == n && skip.size(2) == 2 * h && skip.size(3) == 2 * w,
              "upsample_concat_conv: skip must be (N,C,2H,2W) for low ", low.sizes(), ", got ", skip.sizes());
  TORCH_CHECK(weight.size(1) == c_low + skip.size(1), "upsample_concat_conv: the kernel reads ", weight.size(1),
              " channels, the inputs have ", c_low + skip.size(1));
  torch::Tensor out = torch::conv2d(skip, weight.narrow(1, c_low, skip.size(1)), {}, 1, 1);
  const bool nhwc = out.suggest_memory_format() == torch::MemoryFormat::ChannelsLast;
  // A strided view of `out` by phase: (n, c, h, a, w, b), whichever the physical layout.
  const torch::Tensor by_phase =
      nhwc ? out.permute({0, 2, 3, 1}).view({n, h, 2, w, 2, c_out}).permute({0, 5, 1, 2, 3, 4})
           : out.view({n, c_out, h, 2, w, 2});
  // One phase at a time keeps one 2×2 kernel and one quarter-size result alive: for the
  // 512-channel layers the kernels are the largest transient tensors.
  for (int a = 0; a < 2; ++a)
    for (int b = 0; b < 2; ++b) {
      // Output (i, j) of the padded 2×2 convolution reads low rows i-1, i and columns j-1, j:
      // phase a's pixel (2i + a) is at row i + a.
      const torch::Tensor phase = torch::conv2d(low, upsample_phase_kernel(weight, c_low, a, b), {}, 1, 1);
      by_phase.select(5, b).select(3, a).add_(phase.narrow(2, a, h).narrow(3, b, w));
    }
  return out;
}

}  // namespace pconv
