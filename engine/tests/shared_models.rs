//! One model per process: instances asking for the same weights share one load, concurrent
//! requests wait for it, the model is freed with its last user, loads are cancellable, and the
//! text tower is built on demand and released. Runs the tiny golden MuQ-MuLan, copied into a
//! temporary folder per test so that tests running in parallel never share a registry key.

#[path = "common/model_copy.rs"]
mod model_copy;

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::AtomicBool;

use candle_core::Device;
use muq_engine::analysis::MulanWindowModel;
use muq_engine::analysis::shared_models::{acquire, num_loads_of, num_users_of};
use muq_engine::load::CANCELLED_MSG;
use muq_engine::models::mulan::{MulanFiles, MuqMulan};

fn golden_mulan() -> PathBuf {
    let root = match std::env::var_os("MUQ_GOLDEN_DIR") {
        Some(d) if !d.is_empty() => PathBuf::from(d),
        _ => Path::new(env!("CARGO_MANIFEST_DIR")).join("../../shared/golden"),
    };
    root.join("mulan")
}

/// A private copy of the tiny MuQ-MuLan model (its own registry key).
fn model_copy() -> (tempfile::TempDir, PathBuf, PathBuf) {
    let tmp = tempfile::tempdir().expect("tempdir");
    let (dir, weights) = model_copy::private_copy(&golden_mulan(), tmp.path());
    (tmp, dir, weights)
}

/// Options of a CPU session on `dir` with its text-latent cache in `cache_dir`.
fn cpu_options(dir: &Path, cache_dir: &Path) -> muq_engine::analysis::ModelOptions {
    muq_engine::analysis::ModelOptions {
        model_dir: Some(dir.to_path_buf()),
        cache_dir: Some(cache_dir.to_path_buf()),
        device: muq_engine::analysis::DeviceChoice::Cpu,
        ..Default::default()
    }
}

fn flag() -> Arc<AtomicBool> {
    Arc::new(AtomicBool::new(false))
}

#[test]
fn two_instances_share_one_load_and_the_last_drop_frees_it() {
    let (_tmp, dir, weights) = model_copy();
    let a = MulanWindowModel::load(&dir, &Device::Cpu).expect("first load");
    let b = MulanWindowModel::load(&dir, &Device::Cpu).expect("second instance");
    assert_eq!(
        num_loads_of(&weights),
        1,
        "the second instance must share the first load"
    );
    assert_eq!(num_users_of(&weights), 2);
    assert_eq!(a.num_sharing(), 2);
    assert!(std::ptr::eq(a.mulan(), b.mulan()), "one model in memory");
    drop(a);
    assert_eq!(num_users_of(&weights), 1);
    drop(b);
    assert_eq!(num_users_of(&weights), 0, "freed with its last user");
    let c = MulanWindowModel::load(&dir, &Device::Cpu).expect("load again");
    assert_eq!(num_loads_of(&weights), 2, "a freed model is loaded anew");
    drop(c);
}

#[test]
fn concurrent_requests_wait_for_one_load() {
    let (_tmp, dir, weights) = model_copy();
    let models: Vec<_> = std::thread::scope(|scope| {
        let handles: Vec<_> = (0..4)
            .map(|_| {
                let dir = dir.clone();
                scope.spawn(move || acquire(&dir, &Device::Cpu, &flag()).expect("acquire"))
            })
            .collect();
        handles
            .into_iter()
            .map(|h| h.join().expect("thread"))
            .collect()
    });
    assert_eq!(
        num_loads_of(&weights),
        1,
        "four simultaneous requests, one load"
    );
    assert!(models.windows(2).all(|w| Arc::ptr_eq(&w[0], &w[1])));
    assert_eq!(num_users_of(&weights), 4);
}

#[test]
fn two_folders_are_two_models() {
    let (_tmp_a, dir_a, weights_a) = model_copy();
    let (_tmp_b, dir_b, weights_b) = model_copy();
    let a = acquire(&dir_a, &Device::Cpu, &flag()).expect("a");
    let b = acquire(&dir_b, &Device::Cpu, &flag()).expect("b");
    assert!(!Arc::ptr_eq(&a, &b));
    assert_eq!((num_users_of(&weights_a), num_users_of(&weights_b)), (1, 1));
}

#[test]
fn a_cancelled_request_loads_nothing_and_leaves_no_trace() {
    let (_tmp, dir, weights) = model_copy();
    let cancel = flag();
    cancel.store(true, std::sync::atomic::Ordering::Relaxed);
    let err = match acquire(&dir, &Device::Cpu, &cancel) {
        Err(e) => e.to_string(),
        Ok(_) => panic!("a cancelled request must fail"),
    };
    assert!(err.contains(CANCELLED_MSG), "{err}");
    assert_eq!(num_users_of(&weights), 0);
    let model = acquire(&dir, &Device::Cpu, &flag()).expect("a later request loads");
    assert_eq!(num_users_of(&weights), 1);
    drop(model);
}

#[test]
fn a_load_stops_between_tensors_once_cancelled() {
    let (_tmp, _dir, weights) = model_copy();
    let cancel = flag();
    let ckpt = muq_engine::load::Checkpoint::open_cancellable(
        &weights,
        &Device::Cpu,
        Some(cancel.clone()),
    )
    .expect("open");
    let vb = ckpt.var_builder();
    let key = "mulan.audio_to_latents.bias";
    assert!(vb.get_unchecked_dtype(key, candle_core::DType::F32).is_ok());
    cancel.store(true, std::sync::atomic::Ordering::Relaxed);
    let err = vb
        .get_unchecked_dtype(key, candle_core::DType::F32)
        .expect_err("reads after cancelling fail");
    assert!(err.to_string().contains(CANCELLED_MSG), "{err}");
}

#[test]
fn the_text_tower_is_built_on_demand_and_released() {
    let (_tmp, dir, _weights) = model_copy();
    let files = MulanFiles::locate(&dir).expect("files");
    let mulan = MuqMulan::load_files(&files, &Device::Cpu).expect("load");
    assert!(
        !mulan.text_tower_loaded(),
        "loading builds the audio side only"
    );
    let first = mulan.text_latent("a cheerful violin piece").expect("embed");
    assert!(mulan.text_tower_loaded());
    assert!(mulan.release_text_tower());
    assert!(!mulan.text_tower_loaded());
    let again = mulan
        .text_latent("a cheerful violin piece")
        .expect("embed again");
    let (a, b) = (
        first
            .latent
            .flatten_all()
            .unwrap()
            .to_vec1::<f32>()
            .unwrap(),
        again
            .latent
            .flatten_all()
            .unwrap()
            .to_vec1::<f32>()
            .unwrap(),
    );
    assert_eq!(a, b, "a rebuilt tower gives the same latent");
}

#[test]
fn a_session_releases_the_text_tower_once_its_texts_are_embedded() {
    let (tmp, dir, weights) = model_copy();
    let options = cpu_options(&dir, &tmp.path().join("cache"));
    let mut session = muq_engine::analysis::Session::load(&options, |_, _| {}).expect("session");
    session
        .set_queries(&["distorted guitar solo".to_string()])
        .expect("queries");
    let shared = acquire(&dir, &Device::Cpu, &flag()).expect("the same model");
    assert_eq!(num_loads_of(&weights), 1);
    assert_eq!(session.num_sharing(), 2);
    assert!(
        !shared.mulan.text_tower_loaded(),
        "labels and queries are embedded, so the text tower must be gone"
    );
}

#[test]
fn weights_truncated_after_the_load_fail_text_embedding_clearly_and_keep_the_audio_side() {
    let (_tmp, dir, weights) = model_copy();
    let files = MulanFiles::locate(&dir).expect("files");
    let mulan = MuqMulan::load_files(&files, &Device::Cpu).expect("load");
    let len = std::fs::metadata(&weights).unwrap().len();
    let file = std::fs::OpenOptions::new()
        .write(true)
        .open(&weights)
        .unwrap();
    file.set_len(len / 2).unwrap();
    drop(file);
    let err = match mulan.text_latent("solo piano") {
        Err(e) => e.to_string(),
        Ok(_) => panic!("the text tower cannot be built from a truncated file"),
    };
    assert!(
        err.contains("changed on disk"),
        "the message says what happened: {err}"
    );
    let clip = vec![0.1f32; mulan.clip_samples()];
    let (_, latent) = mulan
        .audio_clip(&clip)
        .expect("the loaded audio side still works");
    assert!(
        latent
            .flatten_all()
            .unwrap()
            .to_vec1::<f32>()
            .unwrap()
            .iter()
            .all(|x| x.is_finite())
    );
}

#[test]
fn a_first_load_embeds_its_texts_before_the_audio_side_so_the_towers_never_meet() {
    let (tmp, dir, _weights) = model_copy();
    let queries = vec!["  a cheerful violin piece ".to_string()];
    let options = cpu_options(&dir, &tmp.path().join("cache"));
    let cancel = flag();
    let mut session =
        muq_engine::analysis::Session::load_cancellable(&options, &queries, &cancel, |_, _| {})
            .expect("session");
    session.set_queries(&queries).expect("queries");
    let shared = acquire(&dir, &Device::Cpu, &flag()).expect("the same model");
    assert_eq!(
        shared.mulan.num_text_tower_builds(),
        0,
        "every label and query was embedded by the text side alone, before the audio side"
    );
    // A warm cache loads no text side at all.
    let again = muq_engine::analysis::text_prefetch::prefetch_texts(
        &dir,
        &Device::Cpu,
        options.cache_dir.as_deref(),
        options.labels_dir.as_deref(),
        &queries,
    )
    .expect("prefetch");
    assert_eq!(again.num_embedded, 0);
    assert!(!again.loaded_text_side);
}

#[test]
fn prefetch_embeds_what_the_cache_lacks_with_the_text_side_alone() {
    let (tmp, dir, _weights) = model_copy();
    let options = cpu_options(&dir, &tmp.path().join("cache"));
    let queries = vec!["distorted guitar solo".to_string()];
    let first = muq_engine::analysis::text_prefetch::prefetch_texts(
        &dir,
        &Device::Cpu,
        options.cache_dir.as_deref(),
        options.labels_dir.as_deref(),
        &queries,
    )
    .expect("prefetch");
    assert!(first.loaded_text_side);
    assert!(first.num_embedded > 1, "labels and the query: {first:?}");
    let more = vec![
        "distorted guitar solo".to_string(),
        "一首欢快的小提琴曲".to_string(),
    ];
    let second = muq_engine::analysis::text_prefetch::prefetch_texts(
        &dir,
        &Device::Cpu,
        options.cache_dir.as_deref(),
        options.labels_dir.as_deref(),
        &more,
    )
    .expect("prefetch");
    assert_eq!(second.num_embedded, 1, "only the new query");
}

#[test]
fn an_unwritable_cache_folder_is_said_in_the_panel_and_the_model_still_loads() {
    let (tmp, dir, _weights) = model_copy();
    let not_a_folder = tmp.path().join("cache-is-a-file");
    std::fs::write(&not_a_folder, b"x").unwrap();
    let options = cpu_options(&dir, &not_a_folder);
    let session = muq_engine::analysis::Session::load(&options, |_, _| {}).expect("loads anyway");
    let messages = session.settings_messages().join("\n");
    assert!(
        messages.contains("text-latent cache could not be written"),
        "{messages}"
    );
}
