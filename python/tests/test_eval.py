"""Checks of adamas.eval (DESIGN.md 1, 6) against values derived independently.

Hand cases carry their derivation in comments; the fixed-seed numbers are
recomputed here from scratch (own Hadamard matrix, own codes, own selection,
own softmax), never by calling the code under test for the expectation.
"""

import itertools
import math
import os
import subprocess
import sys

import numpy as np
import pytest

from adamas import eval as ev

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))


# --- independent helpers ----------------------------------------------------------

def sylvester(D):
    """H_D by Kronecker products: H_2n = [[H_n, H_n], [H_n, -H_n]]."""
    h = np.array([[1.0]])
    while h.shape[0] < D:
        h = np.kron(np.array([[1.0, 1.0], [1.0, -1.0]]), h)
    return h


def rotate(x):
    """Orthonormal Walsh-Hadamard transform of the last axis, rounded once to f32."""
    x = np.asarray(x, dtype=np.float64)
    return ((x @ sylvester(x.shape[-1])) / np.sqrt(x.shape[-1])).astype(np.float32)


def softmax_weights(q_row, keys, scale):
    s = scale * (keys.astype(np.float64) @ q_row.astype(np.float64))
    w = np.exp(s - s.max())
    return w / w.sum()


def qkv_case(q, k, v=None, lengths=None, prefill=None):
    q = np.asarray(q, dtype=np.float32)
    k = np.asarray(k, dtype=np.float32)
    v = np.ones(k.shape, dtype=np.float32) if v is None else v
    N = k.shape[2]
    return ev.QKV(q, k, v, [N] * q.shape[0] if lengths is None else lengths,
                  N if prefill is None else prefill)


def const_keys(values, D=32):
    """Keys whose post-Hadamard vectors are constant: H(v*sqrt(D) e_0) = v * ones."""
    k = np.zeros((1, 1, len(values), D), dtype=np.float32)
    k[0, 0, :, 0] = np.asarray(values) * math.sqrt(D)
    return k


# --- thresholds -------------------------------------------------------------------

def test_fixed_thresholds_are_the_published_grid():
    assert ev.fixed_thresholds(1).tolist() == [0.0]
    assert ev.fixed_thresholds(2).tolist() == [-10.0, 0.0, 10.0]
    assert ev.fixed_thresholds(3).tolist() == [-30.0, -20.0, -10.0, 0.0, 10.0, 20.0, 30.0]
    with pytest.raises(ValueError):
        ev.threshold_grid(4, 1.0)


def test_calibrated_thresholds_of_keys_with_known_std():
    # Post-Hadamard keys of head h are c_h + sigma_h * s with s a +-1 vector
    # with as many +1 as -1: the pooled mean is c_h, the population std
    # exactly sigma_h. Keys are built back through our own H (H is its own
    # inverse up to rounding).
    rng = np.random.default_rng(7)
    D, N = 64, 40
    sigma, shift = [1.0, 3.0], [0.0, 2.5]
    post = np.empty((2, 1, N, D))
    for h in range(2):
        for n in range(N):
            s = np.array([1.0, -1.0] * (D // 2))
            post[h, 0, n] = shift[h] + sigma[h] * rng.permutation(s)
    keys = rotate(post.transpose(1, 0, 2, 3))            # <1 x 2 x N x D>
    got2 = ev.calibrate_thresholds(keys, bits=2)
    np.testing.assert_allclose(got2, [[-0.5, 0, 0.5], [-1.5, 0, 1.5]], atol=1e-5)
    got3 = ev.calibrate_thresholds(keys, bits=3, a=1.0)
    np.testing.assert_allclose(got3, [[-3, -2, -1, 0, 1, 2, 3], [-9, -6, -3, 0, 3, 6, 9]],
                               atol=1e-4)
    assert ev.calibrate_thresholds(keys, bits=1).tolist() == [[0.0], [0.0]]
    assert got2.dtype == np.float32 and got2.shape == (2, 3)


# --- selection methods: hand cases -----------------------------------------------

def test_exact_topk_hand_case_and_ties():
    # D = 1, q = 1: scores are the keys. Largest three of [3,1,4,1,5,9,2,6]:
    # 9 (pos 5), 6 (pos 7), 5 (pos 4).
    k = np.array([3, 1, 4, 1, 5, 9, 2, 6], dtype=np.float32).reshape(1, 1, 8, 1)
    q = np.ones((1, 1, 1, 1), dtype=np.float32)
    assert ev.select_exact(q, k, 3).tolist() == [[[[4, 5, 7]]]]
    # Equal scores: the larger positions win (l1_topk's rule).
    assert ev.select_exact(q, np.ones((1, 1, 4, 1)), 2).tolist() == [[[[2, 3]]]]
    # L <= k: everything visible, then -1.
    assert ev.select_exact(q, k[:, :, :2], 4).tolist() == [[[[0, 1, -1, -1]]]]


def test_exact_topk_recall_is_the_best_subset_and_the_k_largest_weights():
    rng = np.random.default_rng(3)
    q = rng.standard_normal((1, 1, 1, 4)).astype(np.float32)
    k = (2 * rng.standard_normal((1, 1, 8, 4))).astype(np.float32)
    w = softmax_weights(q[0, 0, 0], k[0, 0], 0.5)        # scale 1/sqrt(4)
    best = max(sum(w[list(s)]) for s in itertools.combinations(range(8), 3))
    recall = ev.attention_recall(ev.dense_weights(q, k), ev.select_exact(q, k, 3))
    assert recall.shape == (1, 1, 1)
    assert recall[0, 0, 0] == pytest.approx(best, rel=1e-12)
    assert recall[0, 0, 0] == pytest.approx(np.sort(w)[-3:].sum(), rel=1e-12)


def test_streaming_picks_sink_and_recent_window_per_causal_row():
    k = np.zeros((1, 1, 10, 2), dtype=np.float32)
    q = np.zeros((1, 1, 2, 2), dtype=np.float32)
    # Two rows, the last two of 10 tokens: row 0 sees 9 positions, row 1 all 10.
    got = ev.select_streaming(q, k, 6, lengths=[10], sink=2)
    assert got.tolist() == [[[[0, 1, 5, 6, 7, 8], [0, 1, 6, 7, 8, 9]]]]
    # Over 4 tokens the rows see 3 and 4 positions, all within the budget.
    assert ev.select_streaming(q, k[:, :, :4], 6, sink=2).tolist() == \
        [[[[0, 1, 2, -1, -1, -1], [0, 1, 2, 3, -1, -1]]]]
    with pytest.raises(ValueError):
        ev.select_streaming(q, k, 4, sink=4)


def test_quest_page_bounds_and_selection_hand_case():
    # Pages of 2 keys, q = [1, -2]; bound = sum_d max(q_d min_d, q_d max_d):
    #   page 0 [1,3],[2,-1]:  min [1,-1], max [2,3] -> max(1,2) + max(2,-6)  = 4
    #   page 1 [0,0],[-1,1]:  min [-1,0], max [0,1] -> max(-1,0) + max(0,-2) = 0
    #   page 2 [3,-2],[0,5]:  min [0,-2], max [3,5] -> max(0,3) + max(4,-10) = 7
    # Scores: -5, 4 | 0, -3 | 7, -10: each at most its page's bound.
    q = np.array([1, -2], dtype=np.float32).reshape(1, 1, 1, 2)
    k = np.array([[1, 3], [2, -1], [0, 0], [-1, 1], [3, -2], [0, 5]],
                 dtype=np.float32).reshape(1, 1, 6, 2)
    assert ev.quest_page_bounds(q[0, 0, 0], k[0, 0], page_size=2).tolist() == [4, 0, 7]
    # Budget 4 = two pages: pages 2 and 0.
    assert ev.select_quest(q, k, 4, page_size=2).tolist() == [[[[0, 1, 4, 5]]]]
    assert ev.select_quest(q, k, 2, page_size=2).tolist() == [[[[4, 5]]]]
    # With 5 tokens page 2 is [3,-2] alone: bound 3 + 4 = 7; two pages hold 3 tokens.
    assert ev.select_quest(q, k[:, :, :5], 4, page_size=2).tolist() == [[[[0, 1, 4, -1]]]]
    with pytest.raises(ValueError):
        ev.select_quest(q, k, 1, page_size=2)


def test_quest_bound_is_an_upper_bound_of_every_score_in_its_page():
    rng = np.random.default_rng(11)
    for L in (16, 37, 64):
        q = rng.standard_normal(8)
        keys = rng.standard_t(3, size=(L, 8))
        bounds = ev.quest_page_bounds(q, keys, page_size=16)
        assert len(bounds) == -(-L // 16)
        for j in range(L):
            assert keys[j] @ q <= bounds[j // 16] + 1e-12


def test_adamas_hand_case_distances_ties_and_recent():
    # Post-Hadamard query = 15 everywhere (code 3 under [-10,0,10]); key j is
    # v_j everywhere with codes [1,3,0,3,2,1] (v in -5,15,-15,15,5,-5), so the
    # L1 distances are 32*(3 - code) = [64, 0, 96, 0, 32, 64].
    k = const_keys([-5, 15, -15, 15, 5, -5])
    q = const_keys([15])
    sel = lambda budget, recent: ev.select_adamas(q, k, budget, recent=recent).tolist()[0][0][0]
    assert sel(2, 0) == [1, 3]                  # the two zeros
    assert sel(3, 0) == [1, 3, 4]               # then 32
    assert sel(4, 0) == [1, 3, 4, 5]            # 64 ties at 0 and 5: the larger wins
    assert sel(5, 0) == [0, 1, 3, 4, 5]
    assert sel(3, 1) == [1, 3, 5]               # the last position is forced
    assert sel(8, 1) == [0, 1, 2, 3, 4, 5, -1, -1]


def test_calibrated_thresholds_resolve_what_fixed_ones_cannot():
    # Keys' post-Hadamard values (constant vectors): [-1.5,-0.5,0.5,1.5,1.5,0.5,-0.5,-1.5].
    # Pooled std = sqrt((2.25 + 0.25) / 2) = 1.1180, so calibrated thresholds are
    # +-0.559 and 0: codes [0,1,2,3,3,2,1,0]; query 1.5 -> code 3; distances
    # 32*(3-c) pick positions 3 and 4, exactly the true top-2 (scores ~ values).
    # Fixed [-10,0,10]: codes [1,1,2,2,2,2,1,1], query code 2: positions 2..5
    # all tie at 0 and the tie rule takes 4 and 5 (value 0.5 instead of 1.5).
    values = [-1.5, -0.5, 0.5, 1.5, 1.5, 0.5, -0.5, -1.5]
    data = qkv_case(const_keys([1.5]), const_keys(values))
    thr = ev.calibrate_thresholds(data.prefill_keys(), 2)
    np.testing.assert_allclose(thr, [[-0.5 * math.sqrt(1.25), 0, 0.5 * math.sqrt(1.25)]],
                               rtol=1e-5, atol=1e-6)
    cal = ev.adamas_method(2, calibrated=True, recent=0).make(data)(2)
    fixed = ev.adamas_method(2, calibrated=False, recent=0).make(data)(2)
    assert cal.tolist() == [[[[3, 4]]]]
    assert fixed.tolist() == [[[[4, 5]]]]
    assert ev.select_exact(data.q, data.k, 2).tolist() == [[[[3, 4]]]]


def test_adamas_gqa_query_heads_use_their_kv_head_row():
    # Two KV heads with the same keys, two query heads each, per-head rows
    # [-10,0,10] and [-0.1,0,0.1]. Post-Hadamard key values 20, 5, 1 are codes
    # 3,2,2 under the first row and 3,3,3 under the second; the query (20) is
    # code 3 under both. Distances: KV head 0 [0, 32, 32]; KV head 1 [0, 0, 0].
    k = np.concatenate([const_keys([20, 5, 1])] * 2, axis=1)
    q = np.concatenate([const_keys([20])] * 4, axis=1)
    rows = np.array([[-10, 0, 10], [-0.1, 0, 0.1]], dtype=np.float32)
    one = ev.select_adamas(q, k, 1, thresholds=rows, recent=0)
    assert one[0, :, 0].tolist() == [[0], [0], [2], [2]]      # head 1: all tie, the last wins
    two = ev.select_adamas(q, k, 2, thresholds=rows, recent=0)
    assert two[0, :, 0].tolist() == [[0, 2], [0, 2], [1, 2], [1, 2]]


# --- metrics -------------------------------------------------------------------------

def test_dense_weights_hand_case_with_causal_rows():
    # D = 4, scale 1/2, q = [2,0,0,0]: the score of key j is its first coordinate.
    # Keys log 1, log 2, log 3 -> weights 1/6, 2/6, 3/6 for the last row;
    # the row before sees two keys: 1/3, 2/3.
    k = np.zeros((1, 1, 3, 4))
    k[0, 0, :, 0] = np.log([1.0, 2.0, 3.0])
    q = np.zeros((1, 1, 2, 4))
    q[0, 0, :, 0] = 2.0
    w = ev.dense_weights(q, k)
    np.testing.assert_allclose(w[0, 0], [[1 / 3, 2 / 3, 0], [1 / 6, 2 / 6, 3 / 6]], rtol=1e-12)
    # A batch row with length 0 sees nothing.
    assert not ev.dense_weights(q, k, lengths=[0]).any()


def test_recall_and_output_error_hand_cases():
    w = np.array([0.1, 0.2, 0.3, 0.4]).reshape(1, 1, 1, 4)
    idx = np.array([1, 3, -1]).reshape(1, 1, 1, 3)
    assert ev.attention_recall(w, idx)[0, 0, 0] == pytest.approx(0.6)
    assert np.isnan(ev.attention_recall(np.zeros_like(w), idx)[0, 0, 0])
    # ||[3,0] - [3,4]|| / ||[3,4]|| = 4/5.
    assert ev.output_error(np.array([3.0, 4.0]), np.array([3.0, 0.0])) == pytest.approx(0.8)


# --- the evaluation on a fixed seed, recomputed independently ------------------------

def own_selection(method, q, k, budget):
    """Indices <Hq x M x budget> of one batch row, recomputed from scratch."""
    Hq, M, D = q.shape
    Hkv, N = k.shape[:2]
    G = Hq // Hkv
    out = np.full((Hq, M, budget), -1)
    if method.startswith("adamas"):
        bits = int(method.split()[1][0])
        post_k = rotate(k)
        if "calibrated" in method:
            # Keys of the prefill (all but the last M) calibrate: step 0.5 * std.
            std = post_k[:, :N - M].astype(np.float64).reshape(Hkv, -1).std(axis=1)
            steps = 0.5 * std
        else:
            steps = np.full(Hkv, 10.0)
        j = np.arange(2 ** bits - 1) - (2 ** (bits - 1) - 1)
        thr = np.stack([(s * j).astype(np.float32) for s in steps])
        ck = (post_k[..., None] > thr[:, None, None, :]).sum(-1)
        cq = (rotate(q)[..., None] > np.repeat(thr, G, axis=0)[:, None, None, :]).sum(-1)
    for h in range(Hq):
        kk = k[h // G].astype(np.float64)
        for m in range(M):
            L = N - M + m + 1
            if L <= budget:
                chosen = list(range(L))
            elif method == "exact top-k":
                score = kk[:L] @ q[h, m].astype(np.float64)
                chosen = sorted(range(L), key=lambda n: (-score[n], -n))[:budget]
            elif method.startswith("streamingllm"):
                chosen = list(range(4)) + list(range(L - (budget - 4), L))
            elif method.startswith("quest"):
                pages = range(-(-L // 16))
                bound = {}
                for p in pages:
                    page = kk[16 * p:min(16 * p + 16, L)]
                    bound[p] = sum(max(q[h, m, d] * page[:, d].min(), q[h, m, d] * page[:, d].max())
                                   for d in range(D))
                best = sorted(pages, key=lambda p: (-bound[p], -p))[:budget // 16]
                chosen = [n for p in best for n in range(16 * p, min(16 * p + 16, L))]
            else:
                dist = np.abs(cq[h, m][None, :] - ck[h // G, :L]).sum(axis=1)
                # The last visible position is forced (recent = 1).
                rest = sorted(range(L - 1), key=lambda n: (dist[n], -n))[:budget - 1]
                chosen = rest + [L - 1]
            out[h, m, :len(chosen)] = sorted(chosen)
    return out


def test_fixed_seed_evaluation_matches_an_independent_computation():
    data = ev.synthetic_qkv(seed=3, batch=1, q_heads=4, kv_heads=2, tokens=256, rows=3, dims=64)
    budgets = [16, 64]
    results = {(r.method, r.budget): r for r in ev.evaluate(data, budgets=budgets)}
    names = list(dict.fromkeys(m for m, _ in results))
    assert len(names) == 8 and len(results) == 16
    q, k, v = data.q[0], data.k[0], data.v[0]
    Hq, M, D = q.shape
    G = Hq // k.shape[0]
    for name in names:
        for budget in budgets:
            idx = own_selection(name, q, k, budget)
            recalls, errors = [], []
            for h in range(Hq):
                for m in range(M):
                    L = k.shape[1] - M + m + 1
                    w = softmax_weights(q[h, m], k[h // G, :L], 1 / math.sqrt(D))
                    dense = w @ v[h // G, :L].astype(np.float64)
                    sel = [j for j in idx[h, m] if j >= 0]
                    ws = softmax_weights(q[h, m], k[h // G, sel], 1 / math.sqrt(D))
                    sparse = ws @ v[h // G, sel].astype(np.float64)
                    recalls.append(w[sel].sum())
                    errors.append(np.linalg.norm(sparse - dense) / np.linalg.norm(dense))
            r = results[name, budget]
            assert r.rows == Hq * M
            assert r.recall == pytest.approx(np.mean(recalls), rel=1e-9), (name, budget)
            assert r.error == pytest.approx(np.mean(errors), rel=1e-4, abs=1e-6), (name, budget)


def test_selection_functions_match_the_independent_selection():
    data = ev.synthetic_qkv(seed=5, batch=1, q_heads=4, kv_heads=2, tokens=300, rows=2, dims=32)
    for method in ev.default_methods():
        select = method.make(data)
        for budget in (16, 48):
            got = select(budget)
            assert got.shape == (1, 4, 2, budget) and got.dtype == np.int32
            np.testing.assert_array_equal(got[0], own_selection(method.name, data.q[0], data.k[0],
                                                                budget), err_msg=method.name)


# --- the expected shape on the bench's synthetic data (seed 0) ----------------------

def test_adamas_far_ahead_and_calibration_helps_on_synthetic_seed_0():
    # bench/accuracy.py's default case (8192 tokens, 8 query / 2 KV heads,
    # 8 rows), seed 0. Measured: recall at k=16 exact 0.89, Adamas 2b
    # calibrated 0.52, fixed 0.35, Quest 0.13, StreamingLLM 0.21; at k=64
    # 0.93 / 0.74 / 0.58 / 0.42 / 0.26. Margins below are about half of those gaps.
    data = ev.synthetic_qkv(seed=0)
    methods = [m for m in ev.default_methods()
               if m.name.split()[0] in ("exact", "quest", "streamingllm") or
               m.name.startswith("adamas 2b")]
    r = {(x.method.split()[0] + (x.method.split()[2] if x.method.startswith("adamas") else ""),
          x.budget): x.recall for x in ev.evaluate(data, budgets=[16, 64], methods=methods)}
    for kk in (16, 64):
        assert r["exact", kk] >= max(v for (m, b), v in r.items() if b == kk) - 1e-12
        assert r["adamascalibrated", kk] >= max(r["quest", kk], r["streamingllm", kk]) + 0.15
    assert r["adamascalibrated", 16] >= r["adamasfixed", 16] + 0.08


# --- data files and the command --------------------------------------------------------

def test_dump_round_trip_and_default_prefill(tmp_path):
    data = ev.synthetic_qkv(seed=1, tokens=64, rows=4, q_heads=2, kv_heads=1, dims=32)
    path = tmp_path / "case.npz"
    np.savez(path, q=data.q.astype(np.float16), k=data.k, v=data.v)
    loaded = ev.load_qkv(path)
    assert loaded.prefill == 60 and loaded.lengths.tolist() == [64]
    np.testing.assert_array_equal(loaded.q, data.q.astype(np.float16).astype(np.float32))
    ev.save_qkv(tmp_path / "again.npz", loaded)
    again = ev.load_qkv(tmp_path / "again.npz")
    assert again.prefill == 60
    np.testing.assert_array_equal(again.k, data.k)
    np.savez(tmp_path / "bad.npz", q=data.q, k=data.k)
    with pytest.raises(ValueError, match="missing"):
        ev.load_qkv(tmp_path / "bad.npz")


def test_accuracy_command_writes_tables_and_needs_no_torch(tmp_path):
    # A finder that refuses torch proves neither module imports it.
    out = tmp_path / "ACC.md"
    dump = tmp_path / "case.npz"
    ev.save_qkv(dump, ev.synthetic_qkv(seed=2, tokens=128, rows=2, q_heads=2, kv_heads=1, dims=32))
    script = (
        "import sys, importlib.abc\n"
        "class NoTorch(importlib.abc.MetaPathFinder):\n"
        "    def find_spec(self, name, path, target=None):\n"
        "        if name.split('.')[0] == 'torch': raise ImportError('torch refused')\n"
        "sys.meta_path.insert(0, NoTorch())\n"
        f"sys.argv = ['accuracy.py', '--dump', {str(dump)!r}, '--budgets', '16,64,256',\n"
        f"            '--out', {str(out)!r}]\n"
        "import runpy\n"
        f"runpy.run_path({os.path.join(ROOT, 'bench', 'accuracy.py')!r}, run_name='__main__')\n")
    env = dict(os.environ, PYTHONPATH=os.path.join(ROOT, "python"))
    run = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, env=env,
                         timeout=300)
    assert run.returncode == 0, run.stderr
    text = out.read_text()
    assert "| exact top-k" in text and "| quest page 16" in text
    assert "--dump" in text and "not run" in text.lower()
    # Budgets above N = 128 are left out.
    header = next(line for line in text.split("## Attention recall")[1].splitlines()
                  if line.startswith("| method"))
    assert header.split("|")[2:-1] == ["     16 ", "     64 "]
    assert "exact top-k" in run.stdout
