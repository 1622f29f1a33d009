#pragma once
// The decoder's convolution of cat(nearest ×2 upsampling of `low`, `skip`) with a 3×3 kernel
// (stride 1, padding 1), computed without building the upsampled map or the concatenation.
//
// On a nearest-upsampled map, the output pixels of each of the four phases (even/odd row,
// even/odd column) see only two distinct rows and two distinct columns of `low` through the 3×3
// window: a 2×2 convolution at the low resolution, whose kernel sums the taps that fall on the
// same low-resolution pixel. For phase a (row parity): a = 0 reads rows i-1, i with kernel rows
// {w0, w1 + w2}; a = 1 reads rows i, i+1 with {w0 + w1, w2}; columns alike. The four phases are
// added, interleaved, into the skip half's convolution.
// The result equals the plain computation within float rounding, with 16/36 of the upsampled
// half's multiply-adds and without the two largest tensors of the decoder (at 512×512 the last
// layer's joined input is 70 MB).
#include <torch/torch.h>

namespace pconv {

/// The 2×2 kernel of phase (row_parity, column_parity) for the first `low_channels` input channels
/// of a 3×3 `weight` (C_out, C_in, 3, 3): (C_out, low_channels, 2, 2), in the weight's memory format.
torch::Tensor upsample_phase_kernel(const torch::Tensor& weight, int64_t low_channels, int row_parity,
                                    int column_parity);

/// conv2d(cat(upsample2(low), skip), weight, no bias, stride 1, padding 1). `low` (N,C_low,H,W),
/// `skip` (N,C_skip,2H,2W), `weight` (C_out, C_low + C_skip, 3, 3). Keeps the inputs' memory format.
torch::Tensor upsample_concat_conv(const torch::Tensor& low, const torch::Tensor& skip, const torch::Tensor& weight);

}  // namespace pconv
