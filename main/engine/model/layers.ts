import { GraphBuilder, int, ints, str } from '../onnx/graph-builder.js';
import type { Attr } from '../onnx/graph-builder.js';
import { activationParams, probeName, quantizeBias, quantizeWeights } from '../quant/int8.js';
import type { ConvMode, ConvRanges } from '../quant/int8.js';
import type { StateDict, WeightTensor } from './state-dict.js';

/**
 * The Neuroverse3D building blocks (architecture doc §1.2, §2.1) expressed as ONNX nodes, reading their
 * weights from an official-layout state dict by key prefix.
 */
export class Layers {
  private consts = new Map<string, string>();

  private readonly convNames = new Set<string>();

  constructor(
    readonly g: GraphBuilder,
    private readonly sd: StateDict,
    private readonly geluMode: GeluMode = 'contrib',
    private readonly convMode: ConvMode = { kind: 'fp32' },
  ) {}

  weight(key: string): WeightTensor {
    const t = this.sd.get(key);
    if (!t) throw new Error(`graph builder: weight ${key} missing (state dict not validated?)`);
    return t;
  }

  private scalar(name: string, value: number): string {
    let n = this.consts.get(name);
    if (!n) {
      n = this.g.constFloat(name, [value], []);
      this.consts.set(name, n);
    }
    return n;
  }

  private int64(name: string, values: number[]): string {
    const key = `${name}:${values.join(',')}`;
    let n = this.consts.get(key);
    if (!n) {
      n = this.g.constInt64(name, values);
      this.consts.set(key, n);
    }
    return n;
  }

  /** Conv3d with the key's weight and bias; `pad`/`stride` as in PyTorch (symmetric). */
  conv(x: string, key: string, opts: { pad?: number; stride?: number; out?: string } = {}): string {
    const w = this.weight(`${key}.weight`);
    const b = this.weight(`${key}.bias`);
    return this.convWith(x, key, w, b, opts);
  }

  convWith(x: string, name: string, w: WeightTensor, b: WeightTensor | undefined, opts: { pad?: number; stride?: number; out?: string } = {}): string {
    const pad = opts.pad ?? 0;
    const stride = opts.stride ?? 1;
    const wz = kernelToZyx(w);
    const attrs = {
      kernel_shape: ints(wz.dims.slice(2)),
      pads: ints([pad, pad, pad, pad, pad, pad]),
      strides: ints([stride, stride, stride]),
    };
    if (this.convNames.has(name)) throw new Error(`graph builder: two convolutions named ${name}`);
    this.convNames.add(name);
    const mode = this.convMode;
    if (mode.kind === 'int8') {
      const r = mode.ranges[name];
      if (!r) throw new Error(`int8 graph: no calibrated range for ${name}`);
      return this.int8Conv(x, name, wz, b, attrs, r, opts.out);
    }
    const inputs = [x, this.g.initializer(`${name}.weight`, wz.dims, wz.data)];
    if (b) inputs.push(this.g.initializer(`${name}.bias`, b.dims, b.data));
    const y = this.g.op('Conv', inputs, attrs, opts.out);
    if (mode.kind === 'probe') {
      for (const [side, v] of [
        ['input', x],
        ['output', y],
      ] as const) {
        for (const stat of ['min', 'max'] as const) {
          const o = this.g.op(stat === 'min' ? 'ReduceMin' : 'ReduceMax', [v], { keepdims: int(0) }, probeName(name, side, stat));
          this.g.output(o, []);
        }
      }
    }
    return y;
  }

  /**
   * Q/DQ around one Conv: input and output through uint8 (calibrated), weights int8 per output channel,
   * bias int32. ORT fuses the pattern into one QLinearConv; the output is dequantised for the fp32 ops after.
   */
  private int8Conv(x: string, name: string, w: WeightTensor, b: WeightTensor | undefined, attrs: Record<string, Attr>, r: ConvRanges, out?: string): string {
    const g = this.g;
    const inP = activationParams(r.input);
    const outP = activationParams(r.output);
    const inScale = g.constFloat(`${name}.x_scale`, [inP.scale], []);
    const inZero = g.initializer(`${name}.x_zero`, [], Uint8Array.of(inP.zeroPoint));
    const xd = g.op('DequantizeLinear', [g.op('QuantizeLinear', [x, inScale, inZero]), inScale, inZero]);
    const co = w.dims[0];
    const wq = quantizeWeights(w.data, co);
    const wd = g.op(
      'DequantizeLinear',
      [
        g.initializer(`${name}.weight_q`, w.dims, wq.q),
        g.initializer(`${name}.w_scale`, [co], wq.scales),
        g.initializer(`${name}.w_zero`, [co], new Int8Array(co)),
      ],
      { axis: int(0) },
    );
    const inputs = [xd, wd];
    if (b) {
      const bq = quantizeBias(b.data, inP.scale, wq.scales);
      inputs.push(
        g.op(
          'DequantizeLinear',
          [
            g.initializer(`${name}.bias_q`, [co], bq.q),
            g.initializer(`${name}.b_scale`, [co], bq.scales),
            g.initializer(`${name}.b_zero`, [co], new Int32Array(co)),
          ],
          { axis: int(0) },
        ),
      );
    }
    const y = g.op('Conv', inputs, attrs);
    const outScale = g.constFloat(`${name}.y_scale`, [outP.scale], []);
    const outZero = g.initializer(`${name}.y_zero`, [], Uint8Array.of(outP.zeroPoint));
    return g.op('DequantizeLinear', [g.op('QuantizeLinear', [y, outScale, outZero]), outScale, outZero], {}, out);
  }

  /**
   * Exact (erf) GELU. ORT 1.30 did not fuse the opset-17 Erf pattern for these graphs (checked with
   * optimizedModelFilePath), leaving five full-size elementwise passes per activation; its contrib Gelu
   * (com.microsoft, CPU and CUDA kernels, exact erf form) is one pass. `portable` keeps the pure-ONNX form.
   */
  gelu(x: string, out?: string): string {
    if (this.geluMode === 'contrib') return this.g.contribOp('Gelu', [x], out);
    const e = this.g.op('Erf', [this.g.op('Mul', [x, this.scalar('inv_sqrt2', Math.SQRT1_2)])]);
    const onePlus = this.g.op('Add', [e, this.scalar('one', 1)]);
    return this.g.op('Mul', [this.g.op('Mul', [x, onePlus]), this.scalar('half', 0.5)], {}, out);
  }

  add(a: string, b: string): string {
    return this.g.op('Add', [a, b]);
  }

  /** Residual unit: GELU(x + conv2(GELU(conv1(x)))). `out` names the result (graph outputs need no Identity copy). */
  residual(x: string, key: string, out?: string): string {
    const h = this.gelu(this.conv(x, `${key}.layers.0`, { pad: 1 }));
    return this.gelu(this.add(x, this.conv(h, `${key}.layers.2`, { pad: 1 })), out);
  }

  down(x: string, key: string, out?: string): string {
    return this.conv(x, key, { pad: 1, stride: 2, out });
  }

  /** Trilinear ×2, align_corners=False: ONNX half_pixel sampling with edge clamping is the same map. */
  upsample(x: string): string {
    const scales = this.g.constFloat('up_scales', [1, 1, 2, 2, 2]);
    return this.g.op('Resize', [x, '', scales], {
      mode: str('linear'),
      coordinate_transformation_mode: str('half_pixel'),
    });
  }

  /**
   * Up-sampling block: Conv1×1([Upsample×2(h) ; skip]). Trilinear interpolation and a 1×1 conv commute
   * (interpolation weights sum to 1, so even the bias commutes; doc §2.7), so the h-part of the conv runs at
   * the coarse level before up-sampling: the (c_{r+1}+c_r)-channel concatenation at the fine level is never
   * materialised, which is most of this block's memory at 128³.
   */
  upConcatConv(h: string, skip: string, key: string): string {
    const w = this.weight(`${key}.weight`);
    const cUp = w.dims[1] - this.channelsOf(skip, key);
    const [wUp, wSkip] = splitInputChannelsAt(w, cUp);
    const coarse = this.convWith(h, `${key}.up_part`, wUp, undefined);
    const fine = this.convWith(skip, `${key}.skip_part`, wSkip, this.weight(`${key}.bias`));
    return this.add(this.upsample(coarse), fine);
  }

  private skipChannels = new Map<string, number>();

  /** Registers how many channels a value has (needed to split concatenation weights). */
  setChannels(value: string, c: number): string {
    this.skipChannels.set(value, c);
    return value;
  }

  private channelsOf(value: string, key: string): number {
    const c = this.skipChannels.get(value);
    if (c === undefined) throw new Error(`graph builder: channel count of ${value} unknown for ${key}`);
    return c;
  }

  concat(parts: string[]): string {
    return this.g.op('Concat', parts, { axis: int(1) });
  }

  shape(x: string, start?: number, end?: number): string {
    const attrs: Record<string, ReturnType<typeof int>> = {};
    if (start !== undefined) attrs.start = int(start);
    if (end !== undefined) attrs.end = int(end);
    return this.g.op('Shape', [x], attrs);
  }

  reshape(x: string, shape: string): string {
    return this.g.op('Reshape', [x, shape]);
  }

  /** Constant int64 vector input (e.g. a Reshape target or Unsqueeze axes), shared by value. */
  int64s(name: string, values: number[]): string {
    return this.int64(name, values);
  }
}

export type GeluMode = 'contrib' | 'portable';

/** Splits a 1×1×1 conv weight [co, ci, 1, 1, 1] into input channels [0, at) and [at, ci). */
export function splitInputChannelsAt(w: WeightTensor, at: number): [WeightTensor, WeightTensor] {
  const [co, ci] = w.dims;
  const a = new Float32Array(co * at);
  const b = new Float32Array(co * (ci - at));
  for (let o = 0; o < co; o++) {
    a.set(w.data.subarray(o * ci, o * ci + at), o * at);
    b.set(w.data.subarray(o * ci + at, (o + 1) * ci), o * (ci - at));
  }
  return [
    { dims: [co, at, 1, 1, 1], data: a },
    { dims: [co, ci - at, 1, 1, 1], data: b },
  ];
}

/**
 * PyTorch kernels are [co, ci, kX, kY, kZ] for tensors [B, C, X, Y, Z] (z fastest, nibabel's array order).
 * Our volumes are x fastest, i.e. tensors [B, C, Z, Y, X]; reversing the kernel's spatial axes makes the
 * convolution identical without transposing any volume at run time.
 */
export function kernelToZyx(w: WeightTensor): WeightTensor {
  const [co, ci, kx, ky, kz] = w.dims;
  if (kx === 1 && ky === 1 && kz === 1) return w;
  const out = new Float32Array(w.data.length);
  const k3 = kx * ky * kz;
  for (let oc = 0; oc < co * ci; oc++) {
    const base = oc * k3;
    for (let a = 0; a < kx; a++)
      for (let b = 0; b < ky; b++) for (let c = 0; c < kz; c++) out[base + (c * ky + b) * kx + a] = w.data[base + (a * ky + b) * kz + c];
  }
  return { dims: [co, ci, kz, ky, kx], data: out };
}
