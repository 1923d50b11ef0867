# written by camelid train --method reward --export trl: a LoRA reward model on camelid's preference pairs, for GPUs
# run: python train_trl.py   (pip install trl peft datasets transformers)
from datasets import load_dataset
from peft import LoraConfig
from transformers import AutoModelForSequenceClassification, AutoTokenizer
from trl import RewardConfig, RewardTrainer

BASE_MODEL = "meta-llama/Llama-2-7b-hf"
# renders exactly camelid's "vicuna-v1.1" prompt format
CHAT_TEMPLATE = "{% if messages[0]['role'] == 'system' %}{{ messages[0]['content'] }}{% set loop_messages = messages[1:] %}{% else %}{{ 'A chat between a curious user and an artificial intelligence assistant. The assistant gives helpful, detailed, and polite answers to the user\\'s questions.' }}{% set loop_messages = messages %}{% endif %}{{ ' ' }}{% for message in loop_messages %}{% if message['role'] == 'user' %}{{ 'USER: ' + message['content'] + ' ' }}{% else %}{{ 'ASSISTANT: ' }}{{ message['content'] + eos_token }}{% endif %}{% endfor %}{% if add_generation_prompt %}{{ 'ASSISTANT:' }}{% endif %}"

tokenizer = AutoTokenizer.from_pretrained(BASE_MODEL)
tokenizer.chat_template = CHAT_TEMPLATE
if tokenizer.pad_token is None:
    tokenizer.pad_token = tokenizer.eos_token
model = AutoModelForSequenceClassification.from_pretrained(BASE_MODEL, num_labels=1)
model.config.pad_token_id = tokenizer.pad_token_id
dataset = load_dataset("json", data_files="train.jsonl", split="train")
split = dataset.train_test_split(test_size=0.1, seed=7)
train_dataset, eval_dataset = split["train"], split["test"]

config = RewardConfig(
    output_dir="reward-out",
    num_train_epochs=3,
    per_device_train_batch_size=4,
    gradient_accumulation_steps=1,
    learning_rate=0.000005,
    adam_beta1=0.9,
    adam_beta2=0.999,
    adam_epsilon=1e-8,
    weight_decay=0.01,
    lr_scheduler_type="cosine",
    warmup_ratio=0.03,
    max_grad_norm=1,
    eval_strategy="steps", eval_steps=50,
    save_steps=50,
    logging_steps=1,
    seed=7,
    max_length=512,
)
peft_config = LoraConfig(
    r=16,
    lora_alpha=32,
    lora_dropout=0.05,
    target_modules=["q_proj", "v_proj"],
    task_type="SEQ_CLS",
)
trainer = RewardTrainer(
    model=model,
    args=config,
    train_dataset=train_dataset,
    eval_dataset=eval_dataset,
    processing_class=tokenizer,
    peft_config=peft_config,
)
trainer.train()
trainer.save_model("reward-out")
