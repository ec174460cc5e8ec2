/**
 * Copies tf.js makes that change no value, replaced by aliases of the same (immutable) data.
 *
 * 1. While a gradient tape records, tf.js saves every kernel's inputs/outputs that its gradient
 *    needs through `engine.clone`, which runs the Identity kernel: on wasm a fresh buffer and a
 *    memcpy per saved tensor (about 240 per GRPO update, ~10% of a training step's kernel time).
 * 2. Gradients of Mul and others cast their saved operands to float32 (`cast(b, "float32")`); on
 *    wasm a Cast to the dtype a tensor already has is another copy (about 30 per update).
 * Tensor data in tf.js is immutable (kernels write fresh outputs; Variable.assign swaps the data
 * id, it never writes in place), so an alias holds exactly the values a copy would: the gradient
 * is the identical computation. The alias is what wasm's own Reshape kernel makes (same data id,
 * reference count + 1), so disposal stays tf.js's own bookkeeping.
 *
 * Installed once; `impl().aliasCopies` chooses per call, so the tests and the benchmark can run
 * tf.js's copying path in the same process. Other backends keep tf.js's own behaviour.
 */
import * as tf from "@tensorflow/tfjs";
import { impl } from "../model/impl";

/** The slice of tf.js's Engine this module touches (internal API of tfjs-core 4.x). */
interface EngineInternals {
  clone(x: tf.Tensor): tf.Tensor;
  runKernel(name: string, inputs: tf.NamedTensorMap, attrs?: unknown): tf.Tensor;
  addTapeNode(name: string, inputs: tf.NamedTensorMap, outputs: tf.Tensor[], grad: (dy: tf.Tensor) => Record<string, () => tf.Tensor>, saved: tf.Tensor[], attrs: object): void;
  state: { activeScope: { name: string } };
  backendName: string;
}

let installed = false;

/** Patch the engine's clone and wasm's Cast kernel (idempotent). */
export function installAliases(): void {
  if (installed) return;
  installed = true;
  const engine = tf.engine() as unknown as EngineInternals;
  const copy = engine.clone.bind(engine);
  engine.clone = (x: tf.Tensor) => {
    if (!impl().aliasCopies || engine.backendName !== "wasm" || x.dtype === "string") return copy(x);
    // tf.js's clone with Reshape (same data id) in place of Identity (a copy); the tape node and
    // its gradient (a cast of dy to float32) are tf.js's own, unchanged.
    const y = engine.runKernel("Reshape", { x }, { shape: x.shape });
    const grad = (dy: tf.Tensor) => ({ x: () => engine.runKernel("Cast", { x: dy }, { dtype: "float32" }) });
    engine.addTapeNode(engine.state.activeScope.name, { x }, [y], grad, [], {});
    return y;
  };
  const cast = tf.getKernel("Cast", "wasm");
  const reshape = tf.getKernel("Reshape", "wasm");
  if (!cast || !reshape) return; // wasm not registered in this process: nothing to patch
  tf.unregisterKernel("Cast", "wasm");
  tf.registerKernel({
    ...cast,
    kernelFunc: (args) => {
      const { x } = args.inputs as { x: tf.TensorInfo };
      const { dtype } = args.attrs as { dtype: tf.DataType };
      if (!impl().aliasCopies || dtype !== x.dtype) return cast.kernelFunc(args);
      return reshape.kernelFunc({ ...args, attrs: { shape: x.shape } });
    },
  });
}
