"""Text samples: a newsgroup-style corpus with a planted header leak, and Korean movie reviews.

Both corpora are written for this project from templates with a fixed seed
(no downloaded data):

* ``newsgroups``: posts about *space* or *medicine*. Most space posts carry a
  mail header line with the word "Posting" (``NNTP-Posting-Host: ...``), a
  stand-in for the 20-newsgroups header artefact of the LIME paper; medicine
  posts rarely do. Topic words are present in only part of the posts, so a
  TF-IDF + logistic regression model learns to lean on "Posting": right for
  the wrong reason, which the explanation of ``sample_data/text/leak_post.txt``
  exposes.
* ``korean_reviews``: short Korean movie reviews, positive or negative,
  modelled with character n-gram TF-IDF + logistic regression.
"""

from __future__ import annotations

from pathlib import Path

import joblib
import numpy as np
import pandas as pd
from sklearn.feature_extraction.text import TfidfVectorizer
from sklearn.linear_model import LogisticRegression
from sklearn.pipeline import Pipeline

MODELS = Path(__file__).resolve().parent
DATA = MODELS.parent / "sample_data" / "text"

USERS = ["jkim", "mlopez", "apatel", "schen", "rnovak", "tbrown", "ewilson", "hsato", "dmuller"]
HOSTS = ["mail.example.org", "news.example.net", "relay.example.com", "mx1.example.edu"]
POSTING_HEADERS = [
    "NNTP-Posting-Host: {host}",
    "Posting-Host: {host}",
    "X-Posting-Agent: newsreader on {host}",
    "Posting-Date: {day} Apr 1993",
]
SUBJECTS = [
    "question",
    "help needed",
    "update",
    "some thoughts",
    "follow-up",
    "news",
    "opinions wanted",
]
GENERIC = [
    "I read your article with interest.",
    "Does anyone have more information about this?",
    "Thanks in advance for any pointers.",
    "I agree with the previous poster on most points.",
    "This has been discussed here before, so check the archives.",
    "I am not sure the numbers in that report are right.",
    "Please reply by email and I will summarize for the group.",
    "It would be good to see the original source for that claim.",
    "My friend told me the same story last week.",
    "I think the answer depends on who you ask.",
    "There was a long article about it in the paper yesterday.",
    "Correct me if I am wrong, but that is not what I heard.",
]
TOPIC = {
    "space": [
        "The shuttle launch was delayed again because of the weather.",
        "NASA plans a new mission to study the moon next year.",
        "The satellite reached a stable orbit after the second burn.",
        "The telescope images of the planet are stunning.",
        "A rocket engine test at the launch site went well.",
        "The astronauts spent a week on the space station.",
    ],
    "medicine": [
        "My doctor changed the treatment for my infection.",
        "The patient had symptoms for weeks before the diagnosis.",
        "The clinic now offers the vaccine to everyone over sixty.",
        "This drug has side effects that the doctor did not mention.",
        "A better diet helped with the disease more than any pill.",
        "The hospital study found the therapy reduced the pain.",
    ],
}
#: Share of posts of each class that carry a "Posting" header line.
POSTING_RATE = {"space": 0.9, "medicine": 0.08}


def newsgroup_post(label: str, rng: np.random.Generator) -> str:
    other = "medicine" if label == "space" else "space"
    lines = [
        f"From: {rng.choice(USERS)}@{rng.choice(HOSTS)}",
        f"Subject: Re: {rng.choice(SUBJECTS)}",
    ]
    if rng.random() < POSTING_RATE[label]:
        header = str(rng.choice(POSTING_HEADERS))
        lines.append(header.format(host=rng.choice(HOSTS), day=int(rng.integers(1, 29))))
    lines.append("")
    body = [str(s) for s in rng.choice(GENERIC, size=int(rng.integers(2, 5)), replace=False)]
    if rng.random() < 0.55:
        body.insert(int(rng.integers(0, len(body) + 1)), str(rng.choice(TOPIC[label])))
    if rng.random() < 0.15:
        body.insert(int(rng.integers(0, len(body) + 1)), str(rng.choice(TOPIC[other])))
    lines.append(" ".join(body))
    return "\n".join(lines) + "\n"


def newsgroup_corpus(n: int, seed: int) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    labels = ["space" if rng.random() < 0.5 else "medicine" for _ in range(n)]
    return pd.DataFrame({"text": [newsgroup_post(lab, rng) for lab in labels], "label": labels})


#: The README's leak example: a post about medicine that carries a Posting header.
LEAK_POST = """From: hsato@news.example.net
Subject: Re: help needed
NNTP-Posting-Host: mail.example.org

My doctor changed the treatment for my infection. Does anyone have more information about this?
"""

KOREAN_OPENERS = [
    "이 영화",
    "어제 친구와 함께 봤는데",
    "주말에 극장에서 봤어요",
    "기대하고 갔는데",
    "가족과 함께 봤는데",
    "솔직히 말하면",
    "두 번째 보는 건데",
]
KOREAN = {
    "positive": [
        "정말 재미있어요",
        "배우들의 연기가 훌륭해요",
        "감동적인 이야기였어요",
        "다시 보고 싶어요",
        "최고의 영화예요",
        "음악이 아름다워요",
        "강력 추천합니다",
        "시간 가는 줄 몰랐어요",
    ],
    "negative": [
        "너무 지루해요",
        "시간 낭비였어요",
        "연기가 어색해요",
        "돈이 아까워요",
        "최악의 영화예요",
        "스토리가 엉망이에요",
        "보다가 잠들었어요",
        "실망스러웠어요",
    ],
}

KOREAN_REVIEW = "이 영화 정말 재미있어요! 다만 중간에 조금 지루해요.\n"


def korean_review(label: str, rng: np.random.Generator) -> str:
    other = "negative" if label == "positive" else "positive"
    clauses = [
        str(c) for c in rng.choice(KOREAN[label], size=int(rng.integers(1, 3)), replace=False)
    ]
    if rng.random() < 0.2:
        clauses.insert(0, str(rng.choice(KOREAN[other])) + " 하지만")
    return f"{rng.choice(KOREAN_OPENERS)} {' '.join(clauses)}."


def korean_corpus(n: int, seed: int) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    labels = ["positive" if rng.random() < 0.5 else "negative" for _ in range(n)]
    return pd.DataFrame({"text": [korean_review(lab, rng) for lab in labels], "label": labels})


def _fit_save(train: pd.DataFrame, vectorizer: TfidfVectorizer, name: str) -> Pipeline:
    model = Pipeline([("tfidf", vectorizer), ("clf", LogisticRegression(C=10.0, max_iter=1000))])
    model.fit(train["text"].tolist(), train["label"].tolist())
    # A cache holding id(stop_words), a memory address: drop it so rebuilds are byte-identical.
    vars(vectorizer).pop("_stop_words_id", None)
    joblib.dump(model, MODELS / name, compress=3)
    return model


def build_newsgroups() -> None:
    train, test = newsgroup_corpus(600, seed=1), newsgroup_corpus(200, seed=2)
    _fit_save(train, TfidfVectorizer(lowercase=True), "text_newsgroups.joblib")
    train.to_csv(DATA / "newsgroups_train.csv", index=False)
    test.to_csv(DATA / "newsgroups_test.csv", index=False)
    (DATA / "leak_post.txt").write_text(LEAK_POST, encoding="utf-8")


def build_korean() -> None:
    train, test = korean_corpus(400, seed=3), korean_corpus(100, seed=4)
    vectorizer = TfidfVectorizer(analyzer="char_wb", ngram_range=(1, 3))
    _fit_save(train, vectorizer, "text_korean_sentiment.joblib")
    train.to_csv(DATA / "korean_reviews_train.csv", index=False)
    test.to_csv(DATA / "korean_reviews_test.csv", index=False)
    (DATA / "korean_review.txt").write_text(KOREAN_REVIEW, encoding="utf-8")


def build_all() -> None:
    DATA.mkdir(parents=True, exist_ok=True)
    build_newsgroups()
    build_korean()


if __name__ == "__main__":
    build_all()
