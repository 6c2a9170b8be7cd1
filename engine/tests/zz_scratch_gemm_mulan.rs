use candle_core::{Device, Tensor, DType};
use std::time::Instant;
#[test]
fn scratch() {
    let dev = Device::Cpu;
    let x = Tensor::randn(0f32, 1.0, (14, 768), &dev).unwrap();
    let w = Tensor::randn(0f32, 1.0, (3072, 768), &dev).unwrap();
    let wt = w.t().unwrap().contiguous().unwrap();
    let x3 = x.unsqueeze(0).unwrap();
    let lin = candle_nn::Linear::new(w.clone(), None);
    use candle_core::Module;
    for _ in 0..2 {
        let t = Instant::now(); for _ in 0..20 { let _ = x.matmul(&w.t().unwrap()).unwrap(); } println!("x@w.t (strided): {:.3} ms", t.elapsed().as_secs_f64()*50.0);
        let t = Instant::now(); for _ in 0..20 { let _ = x.matmul(&wt).unwrap(); } println!("x@wt contiguous: {:.3} ms", t.elapsed().as_secs_f64()*50.0);
        let t = Instant::now(); for _ in 0..20 { let _ = w.matmul(&x.t().unwrap()).unwrap(); } println!("w@x.t: {:.3} ms", t.elapsed().as_secs_f64()*50.0);
        let t = Instant::now(); for _ in 0..20 { let _ = lin.forward(&x3).unwrap(); } println!("Linear 3d: {:.3} ms", t.elapsed().as_secs_f64()*50.0);
        let t = Instant::now(); for _ in 0..20 { let _ = lin.forward(&x).unwrap(); } println!("Linear 2d: {:.3} ms", t.elapsed().as_secs_f64()*50.0);
    }
    let _ = DType::F32;
}
