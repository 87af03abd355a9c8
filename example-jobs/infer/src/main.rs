//! Example Pond job: inference of a small neural network in pure Rust.
//!
//! The network is a multilayer perceptron (tanh hidden layers, softmax
//! output) that classifies points of the three-armed spiral, a classic
//! non-linear toy problem. Its weights are an input file (`model.txt`), so
//! the job's input hash covers the model as well as the data.
//!
//! - `infer MODEL POINTS`: reads `/input/MODEL` and `/input/POINTS` (CSV
//!   `x,y,label`), writes `/output/predictions.csv` (`x,y,class,p0,p1,p2`)
//!   and `/output/accuracy.txt`. `POND_INPUT`/`POND_OUTPUT` override the
//!   directories for a native run.
//! - `infer train SEED` (native): trains the model and prints `model.txt`
//!   and, to stderr, a held-out `points.csv`; how the shipped files were made:
//!   `cargo run -p pond-example-infer --release -- train 7 > model.txt 2> points.csv`.

use std::{env, fmt::Write as _, fs, process::ExitCode};

/// Layer widths, input first.
const LAYERS: [usize; 4] = [2, 16, 16, 3];

/// A dense layer: `out = act(W · in + b)`, `W` row-major (out × in).
struct Layer {
    inputs: usize,
    outputs: usize,
    weights: Vec<f32>,
    biases: Vec<f32>,
}

struct Model {
    layers: Vec<Layer>,
}

impl Model {
    /// The model file: `pond-mlp-v1`, the widths, then each layer's weights
    /// row by row and its biases, one number per line.
    fn parse(text: &str) -> Result<Model, String> {
        let mut lines = text.lines().map(str::trim).filter(|l| !l.is_empty());
        if lines.next() != Some("pond-mlp-v1") {
            return Err("model: not a pond-mlp-v1 file".into());
        }
        let widths: Vec<usize> = lines
            .next()
            .ok_or("model: no layer widths")?
            .split_whitespace()
            .map(|w| w.parse().map_err(|_| format!("model: bad width {w:?}")))
            .collect::<Result<_, _>>()?;
        if widths.len() < 2 || widths.iter().any(|&w| w == 0 || w > 4096) {
            return Err("model: widths must be 2 or more numbers in 1..=4096".into());
        }
        let mut number = || -> Result<f32, String> {
            let line = lines.next().ok_or("model: the file ends early")?;
            line.parse()
                .map_err(|_| format!("model: bad number {line:?}"))
        };
        let mut layers = Vec::new();
        for pair in widths.windows(2) {
            let (inputs, outputs) = (pair[0], pair[1]);
            let weights = (0..inputs * outputs)
                .map(|_| number())
                .collect::<Result<_, _>>()?;
            let biases = (0..outputs).map(|_| number()).collect::<Result<_, _>>()?;
            layers.push(Layer {
                inputs,
                outputs,
                weights,
                biases,
            });
        }
        Ok(Model { layers })
    }

    fn write(&self) -> String {
        let mut out = String::from("pond-mlp-v1\n");
        let widths: Vec<String> = std::iter::once(self.layers[0].inputs)
            .chain(self.layers.iter().map(|l| l.outputs))
            .map(|w| w.to_string())
            .collect();
        out.push_str(&widths.join(" "));
        out.push('\n');
        for layer in &self.layers {
            for v in layer.weights.iter().chain(&layer.biases) {
                let _ = writeln!(out, "{v:e}");
            }
        }
        out
    }

    /// Every layer's activations for input `x`, the input first; the last
    /// is the softmax distribution.
    fn forward(&self, x: &[f32]) -> Vec<Vec<f32>> {
        let mut acts = vec![x.to_vec()];
        for (k, layer) in self.layers.iter().enumerate() {
            let input = &acts[k];
            let mut out: Vec<f32> = (0..layer.outputs)
                .map(|o| {
                    let row = &layer.weights[o * layer.inputs..(o + 1) * layer.inputs];
                    row.iter().zip(input).map(|(w, v)| w * v).sum::<f32>() + layer.biases[o]
                })
                .collect();
            if k + 1 < self.layers.len() {
                out.iter_mut().for_each(|v| *v = v.tanh());
            } else {
                let max = out.iter().copied().fold(f32::MIN, f32::max);
                out.iter_mut().for_each(|v| *v = (*v - max).exp());
                let sum: f32 = out.iter().sum();
                out.iter_mut().for_each(|v| *v /= sum);
            }
            acts.push(out);
        }
        acts
    }
}

/// A small deterministic generator (xorshift64*), for training only.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> f32 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        let bits = self.0.wrapping_mul(0x2545_f491_4f6c_dd1d) >> 40;
        bits as f32 / (1u64 << 24) as f32
    }
}

/// `n` points per arm of the three-armed spiral, with noise.
fn spiral(rng: &mut Rng, n: usize) -> Vec<([f32; 2], usize)> {
    let mut points = Vec::new();
    for class in 0..3 {
        for i in 0..n {
            let r = i as f32 / n as f32;
            let t = class as f32 * 4.0 + r * 4.0 + (rng.next() - 0.5) * 0.4;
            points.push(([r * t.sin(), r * t.cos()], class));
        }
    }
    points
}

fn train(seed: u64) -> (Model, Vec<([f32; 2], usize)>) {
    let mut rng = Rng(seed.max(1));
    let layers = LAYERS
        .windows(2)
        .map(|p| Layer {
            inputs: p[0],
            outputs: p[1],
            weights: (0..p[0] * p[1])
                .map(|_| (rng.next() - 0.5) * 2.0 / (p[0] as f32).sqrt())
                .collect(),
            biases: vec![0.0; p[1]],
        })
        .collect();
    let mut model = Model { layers };
    let mut data = spiral(&mut rng, 200);
    let rate = 0.02;
    for _epoch in 0..1000 {
        // Stochastic gradient descent visits the points in a new order each
        // epoch (in class order it would only learn the last class).
        for i in (1..data.len()).rev() {
            let j = (rng.next() * (i + 1) as f32) as usize;
            data.swap(i, j.min(i));
        }
        for (x, label) in &data {
            let acts = model.forward(x);
            // Softmax with cross-entropy: the output error is p - onehot.
            let mut delta: Vec<f32> = acts[acts.len() - 1].clone();
            delta[*label] -= 1.0;
            for k in (0..model.layers.len()).rev() {
                let input = &acts[k];
                let layer = &mut model.layers[k];
                let mut back = vec![0.0; layer.inputs];
                let rows = layer.weights.chunks_mut(layer.inputs);
                for ((row, bias), d) in rows.zip(layer.biases.iter_mut()).zip(&delta) {
                    for ((w, b), x) in row.iter_mut().zip(back.iter_mut()).zip(input) {
                        *b += *w * d;
                        *w -= rate * d * x;
                    }
                    *bias -= rate * d;
                }
                // Through tanh: d/dx tanh = 1 - tanh².
                delta = back
                    .iter()
                    .zip(input)
                    .map(|(b, a)| b * (1.0 - a * a))
                    .collect();
            }
        }
    }
    let held_out = spiral(&mut rng, 50);
    (model, held_out)
}

fn infer(model: &str, points: &str) -> Result<(), String> {
    let input = env::var("POND_INPUT").unwrap_or_else(|_| "/input".into());
    let output = env::var("POND_OUTPUT").unwrap_or_else(|_| "/output".into());
    let read = |name: &str| {
        fs::read_to_string(format!("{input}/{name}")).map_err(|e| format!("{input}/{name}: {e}"))
    };
    let model = Model::parse(&read(model)?)?;
    if model.layers[0].inputs != 2 {
        return Err("model: this job classifies 2-D points".into());
    }
    let mut csv = String::from("x,y,class,");
    let classes = model.layers[model.layers.len() - 1].outputs;
    csv.push_str(
        &(0..classes)
            .map(|c| format!("p{c}"))
            .collect::<Vec<_>>()
            .join(","),
    );
    csv.push('\n');
    let (mut right, mut total) = (0, 0);
    for (number, line) in read(points)?.lines().enumerate().skip(1) {
        let fields: Vec<&str> = line.split(',').collect();
        let [x, y, label] = fields.as_slice() else {
            return Err(format!("{points}:{}: expected x,y,label", number + 1));
        };
        let parse = |v: &str| {
            v.trim()
                .parse::<f32>()
                .map_err(|_| format!("{points}:{}: bad number {v:?}", number + 1))
        };
        let point = [parse(x)?, parse(y)?];
        let probabilities = model.forward(&point).pop().unwrap_or_default();
        let class = (0..classes)
            .max_by(|&a, &b| {
                probabilities[a]
                    .total_cmp(&probabilities[b])
                    .then(b.cmp(&a))
            })
            .unwrap_or(0);
        let _ = write!(csv, "{x},{y},{class}");
        for p in &probabilities {
            let _ = write!(csv, ",{p:.6}");
        }
        csv.push('\n');
        total += 1;
        if label.trim() == class.to_string() {
            right += 1;
        }
    }
    fs::write(format!("{output}/predictions.csv"), csv).map_err(|e| format!("{output}: {e}"))?;
    let accuracy = format!("{right}/{total}\n");
    fs::write(format!("{output}/accuracy.txt"), &accuracy).map_err(|e| format!("{output}: {e}"))?;
    print!("accuracy {accuracy}");
    Ok(())
}

fn main() -> ExitCode {
    let args: Vec<String> = env::args().skip(1).collect();
    let outcome = match args
        .iter()
        .map(String::as_str)
        .collect::<Vec<_>>()
        .as_slice()
    {
        ["train", seed] => match seed.parse() {
            Ok(seed) => {
                let (model, points) = train(seed);
                print!("{}", model.write());
                eprintln!("x,y,label");
                for ([x, y], label) in points {
                    eprintln!("{x:.5},{y:.5},{label}");
                }
                Ok(())
            }
            Err(_) => Err(format!("SEED {seed:?} is not a number")),
        },
        [model, points] => infer(model, points),
        _ => Err("usage: infer MODEL POINTS | infer train SEED".into()),
    };
    match outcome {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("infer: {e}");
            ExitCode::FAILURE
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_model_survives_writing_and_parsing() {
        let mut rng = Rng(3);
        let model = Model {
            layers: vec![Layer {
                inputs: 2,
                outputs: 3,
                weights: (0..6).map(|_| rng.next()).collect(),
                biases: vec![0.5, -1.0, 1e-9],
            }],
        };
        let again = Model::parse(&model.write()).unwrap_or(Model { layers: vec![] });
        assert_eq!(again.layers.len(), 1);
        assert_eq!(again.layers[0].weights, model.layers[0].weights);
        assert_eq!(again.layers[0].biases, model.layers[0].biases);
        let p = again.forward(&[0.3, -0.2]).pop().unwrap_or_default();
        assert!((p.iter().sum::<f32>() - 1.0).abs() < 1e-6);
    }

    #[test]
    fn broken_models_are_refused() {
        assert!(Model::parse("pond-mlp-v2\n2 3\n").is_err());
        assert!(Model::parse("pond-mlp-v1\n2 3\n1\n").is_err());
        assert!(Model::parse("pond-mlp-v1\n2 0\n").is_err());
        assert!(Model::parse("pond-mlp-v1\n2 1\n1\nx\n0\n").is_err());
    }
}
