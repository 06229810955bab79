// Macros shared by the amd64 kernels (#include "kernels_amd64.h").

// HSUMX adds the eight float lanes of yn into xn's lane 0 (xt scratch; VEX, registers below 16).
#define HSUMX(yn, xn, xt) \
	VEXTRACTF128 $1, yn, xt \
	VADDPS  xt, xn, xn \
	VMOVHLPS xn, xn, xt \
	VADDPS  xt, xn, xn \
	VMOVSHDUP xn, xt \
	VADDSS  xt, xn, xn

// HSUM adds the sixteen float lanes of zn into xn's lane 0 (yt/xt scratch).
#define HSUM(zn, yn, xn, yt, xt) \
	VEXTRACTF64X4 $1, zn, yt \
	VADDPS  yt, yn, yn \
	HSUMX(yn, xn, xt)

// HSUMI8 adds the eight int32 lanes of yn into xn's lane 0 (xt scratch).
#define HSUMI8(yn, xn, xt) \
	VEXTRACTI128 $1, yn, xt \
	VPADDD  xt, xn, xn \
	VPSHUFD $0x4e, xn, xt \
	VPADDD  xt, xn, xn \
	VPSHUFD $0xb1, xn, xt \
	VPADDD  xt, xn, xn

// HSUM4 reduces the eight int32 lanes of each of a, b, c, d to lanes 0–3 of xa (ya's register; b, c, d
// are scratch, xt too).
#define HSUM4(ya, yb, yc, yd, xa, xt) \
	VPHADDD yb, ya, ya \
	VPHADDD yd, yc, yc \
	VPHADDD yc, ya, ya \
	VEXTRACTI128 $1, ya, xt \
	VPADDD  xt, xa, xa

// KUNPACK reads the 12-byte six-bit scales and mins of the Q4_K/Q5_K super-block at SI (ggml's kmask
// steps) into R8 (eight scale bytes) and R10 (eight min bytes); AX, BX, DX, R9, R11, R12 are scratch.
#define KUNPACK \
	MOVL 4(SI), AX \
	MOVL 8(SI), BX \
	MOVL 12(SI), DX \
	MOVL AX, R8 \
	ANDL $0x3f3f3f3f, R8 \
	MOVL DX, R9 \
	ANDL $0x0f0f0f0f, R9 \
	MOVL AX, R10 \
	SHRL $6, R10 \
	ANDL $0x03030303, R10 \
	SHLL $4, R10 \
	ORL  R10, R9 \
	MOVL BX, R10 \
	ANDL $0x3f3f3f3f, R10 \
	MOVL DX, R11 \
	SHRL $4, R11 \
	ANDL $0x0f0f0f0f, R11 \
	MOVL BX, R12 \
	SHRL $6, R12 \
	ANDL $0x03030303, R12 \
	SHLL $4, R12 \
	ORL  R12, R11 \
	SHLQ $32, R9 \
	ORQ  R9, R8 \
	SHLQ $32, R11 \
	ORQ  R11, R10

// SCALEADD does acc += float(xi lane 0)·(f16 at hoff(SI) · float32 at 0(DI)) as the Go code does, with op
// VADDSS or VSUBSS (xt scratch).
#define SCALEADD(op, xi, hoff, xt, acc) \
	VCVTDQ2PS xi, xi \
	MOVWLZX hoff(SI), AX \
	VMOVD   AX, xt \
	VCVTPH2PS xt, xt \
	VMULSS  0(DI), xt, xt \
	VMULSS  xt, xi, xi \
	op      xi, acc, acc
