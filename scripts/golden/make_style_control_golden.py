"""Reference figures for camelid's style-controlled Bradley-Terry (FastChat elo_analysis.py --style-control).

Writes test/eval/golden/style-control-battles.json (a fixed battles file in FastChat's clean-battle shape,
made from a seeded generator) and test/eval/golden/style-control-golden.json: the markdown counts of
FastChat's add_markdown_info.py for every answer, and the ratings and style coefficients of FastChat's
construct_style_matrices + fit_mle_elo (sklearn LogisticRegression(fit_intercept=False), C=1), both with
sklearn's default tolerance (FastChat's exact call) and converged to tol=1e-12.

The functions below are transcribed from fastchat/serve/monitor/{elo_analysis,add_markdown_info}.py
(pandas replaced by plain numpy where it changes nothing). Run: python3 scripts/golden/make_style_control_golden.py
"""
import json
import math
import os
import re

import numpy as np
from sklearn.linear_model import LogisticRegression

HERE = os.path.dirname(os.path.abspath(__file__))
OUT = os.path.join(HERE, "..", "..", "test", "eval", "golden")

STYLE_CONTROL_ELEMENTS_V1 = [
    "sum_assistant_a_tokens", "header_count_a", "list_count_a", "bold_count_a",
    "sum_assistant_b_tokens", "header_count_b", "list_count_b", "bold_count_b",
]


# ---- add_markdown_info.py ----
def count_markdown_elements(markdown_text, suffix):
    return {
        f"header_count{suffix}": {
            "h1": len(re.findall(r"^#{1}\s", markdown_text, re.MULTILINE)),
            "h2": len(re.findall(r"^#{2}\s", markdown_text, re.MULTILINE)),
            "h3": len(re.findall(r"^#{3}\s", markdown_text, re.MULTILINE)),
            "h4": len(re.findall(r"^#{4}\s", markdown_text, re.MULTILINE)),
            "h5": len(re.findall(r"^#{5}\s", markdown_text, re.MULTILINE)),
            "h6": len(re.findall(r"^#{6}\s", markdown_text, re.MULTILINE)),
        },
        f"list_count{suffix}": {
            "ordered": len(re.findall(r"^\s*\d+\.\s", markdown_text, re.MULTILINE)),
            "unordered": len(re.findall(r"^\s*[-*+]\s", markdown_text, re.MULTILINE)),
        },
        f"bold_count{suffix}": {
            "**": len(re.findall(r"\*\*[^*\n]+\*\*", markdown_text)),
            "__": len(re.findall(r"__[^_\n]+__", markdown_text)),
        },
    }


def remove_pattern(answer, pattern):
    blocks = pattern.findall(answer)
    for block in blocks:
        answer = answer.replace(block, "")
    return answer


def element_counts(convo, suffix):
    pattern = re.compile("```([^`]*)```")
    answer = "\n".join([turn["content"] for turn in convo if turn["role"] == "assistant"])
    return count_markdown_elements(remove_pattern(answer, pattern), suffix=suffix)


# ---- elo_analysis.py ----
def construct_style_matrices(battles, BASE=10, apply_ratio=[1, 1, 1, 1], style_elements=STYLE_CONTROL_ELEMENTS_V1, add_one=True):
    # models = pd.concat([df["model_a"], df["model_b"]]).unique()
    order = [b["model_a"] for b in battles] + [b["model_b"] for b in battles]
    models = list(dict.fromkeys(order))
    index = {m: i for i, m in enumerate(models)}
    df = battles + battles  # duplicate battles
    p = len(models)
    n = len(df)
    k = int(len(style_elements) / 2)
    X = np.zeros([n, p + k])
    X[np.arange(n), [index[b["model_a"]] for b in df]] = +math.log(BASE)
    X[np.arange(n), [index[b["model_b"]] for b in df]] = -math.log(BASE)
    style_vector = np.array([
        [b["conv_metadata"][e] if type(b["conv_metadata"][e]) is int else sum(b["conv_metadata"][e].values()) for b in df]
        for e in style_elements
    ])
    style_diff = (style_vector[:k] - style_vector[k:]).astype(float)
    style_sum = (style_vector[:k] + style_vector[k:]).astype(float)
    if add_one:
        style_sum = style_sum + np.ones(style_diff.shape)
    apply_ratio = np.flatnonzero(apply_ratio)
    style_diff[apply_ratio] /= style_sum[apply_ratio]
    style_mean = np.mean(style_diff, axis=1)
    style_std = np.std(style_diff, axis=1)
    X[:, -k:] = ((style_diff - style_mean[:, np.newaxis]) / style_std[:, np.newaxis]).T
    Y = np.zeros(n)
    Y[np.array([b["winner"] == "model_a" for b in df])] = 1.0
    tie_idx = np.array([b["winner"] in ("tie", "tie (bothbad)") for b in df])
    tie_idx[len(tie_idx) // 2:] = False
    Y[tie_idx] = 1.0
    return X, Y, models


def fit_mle_elo(X, Y, models, SCALE=400, INIT_RATING=1000, **lr_options):
    p = len(models)
    lr = LogisticRegression(fit_intercept=False, **lr_options)
    lr.fit(X, Y)
    elo_scores = SCALE * lr.coef_[0] + INIT_RATING
    return {m: float(elo_scores[i]) for i, m in enumerate(models)}, [float(c) for c in lr.coef_[0][p:]]


# ---- the fixed battles file ----
def make_battles():
    rng = np.random.default_rng(20240801)
    models = ["alpaca-7b", "koala-13b", "llama-2-13b-chat", "vicuna-13b", "vicuna-7b"]
    strength = {"alpaca-7b": -0.6, "koala-13b": -0.1, "llama-2-13b-chat": 0.2, "vicuna-13b": 0.5, "vicuna-7b": 0.1}
    style_taste = {"alpaca-7b": 0.1, "koala-13b": 0.4, "llama-2-13b-chat": 0.9, "vicuna-13b": 0.5, "vicuna-7b": 0.3}
    pieces = [
        "# Overview\n", "## Details\n", "### Note\n", "#Not a header\n", "1. first step\n", "2. second step\n", "  10. nested\n",
        "- a point\n", "* another point\n", "+ third\n", "-not a list\n", "Some **bold** words. ", "__strong__ text ",
        "**multi\nline** is not bold ", "Plain sentence. ", "More plain text here. ",
        "```python\n# comment in code\n- not a list\n**not bold**\n```\n", "`inline` code ", "\n",
    ]
    categories = ["coding", "writing", "math"]
    battles = []
    for i in range(160):
        a, b = rng.choice(len(models), size=2, replace=False)
        model_a, model_b = models[a], models[b]

        def answer(model):
            count = int(rng.integers(1, 3 + int(10 * style_taste[model])))
            text = "".join(pieces[int(j)] for j in rng.integers(0, len(pieces), size=count))
            tokens = int(rng.integers(20, 60) + 200 * style_taste[model] * rng.random())
            return text, tokens

        turns = 1 + int(rng.random() < 0.25)
        conv_a, conv_b, tok_a, tok_b = [], [], 0, 0
        for t in range(turns):
            question = f"question {i}.{t}"
            ta, na = answer(model_a)
            tb, nb = answer(model_b)
            conv_a += [{"role": "user", "content": question}, {"role": "assistant", "content": ta}]
            conv_b += [{"role": "user", "content": question}, {"role": "assistant", "content": tb}]
            tok_a += na
            tok_b += nb
        style_a = style_taste[model_a] * tok_a / 100
        style_b = style_taste[model_b] * tok_b / 100
        logit = strength[model_a] - strength[model_b] + 0.3 * (style_a - style_b)
        u = rng.random()
        p_a = 1 / (1 + math.exp(-logit))
        if u < 0.12:
            winner = "tie"
        elif u < 0.16:
            winner = "tie (bothbad)"
        else:
            winner = "model_a" if rng.random() < p_a else "model_b"
        battles.append({
            "model_a": model_a, "model_b": model_b, "winner": winner, "tstamp": 1700000000 + 60 * i,
            "category": categories[i % 3], "sum_assistant_a_tokens": tok_a, "sum_assistant_b_tokens": tok_b,
            "conversation_a": conv_a, "conversation_b": conv_b,
        })
    return battles


def one_per_line(rows):
    """A JSON array with one compact row a line: small diffs, readable."""
    return "[\n" + ",\n".join(json.dumps(row) for row in rows) + "\n]\n"


def main():
    battles = make_battles()
    for b in battles:
        b["conv_metadata"] = {
            "sum_assistant_a_tokens": b.pop("sum_assistant_a_tokens"),
            "sum_assistant_b_tokens": b.pop("sum_assistant_b_tokens"),
            **element_counts(b["conversation_a"], "_a"),
            **element_counts(b["conversation_b"], "_b"),
        }
    os.makedirs(OUT, exist_ok=True)
    # The battles file without the markdown counts: camelid counts them itself from the conversations.
    stripped = [
        {**{k: v for k, v in b.items() if k != "conv_metadata"},
         "conv_metadata": {"sum_assistant_a_tokens": b["conv_metadata"]["sum_assistant_a_tokens"], "sum_assistant_b_tokens": b["conv_metadata"]["sum_assistant_b_tokens"]}}
        for b in battles
    ]
    with open(os.path.join(OUT, "style-control-battles.json"), "w") as f:
        f.write(one_per_line(stripped))

    X, Y, models = construct_style_matrices(battles)
    default_ratings, default_coef = fit_mle_elo(X, Y, models)
    exact_ratings, exact_coef = fit_mle_elo(X, Y, models, tol=1e-12, max_iter=100000)
    per_category = {}
    for category in sorted({b["category"] for b in battles}):
        subset = [b for b in battles if b["category"] == category]
        Xc, Yc, mc = construct_style_matrices(subset)
        per_category[category] = fit_mle_elo(Xc, Yc, mc, tol=1e-12, max_iter=100000)[0]
    golden = {
        "source": "scripts/golden/make_style_control_golden.py (FastChat elo_analysis.py construct_style_matrices + fit_mle_elo, sklearn LogisticRegression C=1)",
        "markdown_counts": [
            {k: b["conv_metadata"][k] for k in ["header_count_a", "list_count_a", "bold_count_a", "header_count_b", "list_count_b", "bold_count_b"]}
            for b in battles
        ],
        "ratings_fastchat_default_tolerance": default_ratings,
        "coefficients_fastchat_default_tolerance": default_coef,
        "ratings": exact_ratings,
        "coefficients": exact_coef,
        "ratings_by_category": per_category,
    }
    with open(os.path.join(OUT, "style-control-golden.json"), "w") as f:
        counts = golden.pop("markdown_counts")
        text = json.dumps(golden, indent=1)
        f.write(text[:-2] + ',\n "markdown_counts": ' + one_per_line(counts).rstrip("\n").replace("\n", "\n ") + "\n}\n")
    gap = max(abs(default_ratings[m] - exact_ratings[m]) for m in models)
    print("ratings", exact_ratings)
    print("coefficients", exact_coef)
    print("largest rating gap, sklearn default tol vs converged:", gap)


if __name__ == "__main__":
    main()
