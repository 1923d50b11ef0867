// Jinja chat templates (Hugging Face tokenizer `chat_template` syntax) that render exactly what our
// registry formats render, so that a GPU trainer masks and formats the data the way `camelid train`
// does. Each is checked against the registry's render in test/train/export-recipes.test.ts.
// The assistant's content and closing marker sit inside {% generation %} ... {% endgeneration %}:
// TRL's assistant_only_loss and axolotl's chat_template masking read those markers.

const VICUNA_SYSTEM =
  "A chat between a curious user and an artificial intelligence assistant. The assistant gives helpful, detailed, and polite answers to the user's questions.";
const ALPACA_PREAMBLE = "Below is an instruction that describes a task. Write a response that appropriately completes the request.";

export const recipeChatTemplates: Readonly<Record<string, string>> = {
  "vicuna-v1.1":
    "{% if messages[0]['role'] == 'system' %}{{ messages[0]['content'] }}{% set loop_messages = messages[1:] %}" +
    `{% else %}{{ '${VICUNA_SYSTEM.replace(/'/g, "\\'")}' }}{% set loop_messages = messages %}{% endif %}{{ ' ' }}` +
    "{% for message in loop_messages %}{% if message['role'] == 'user' %}{{ 'USER: ' + message['content'] + ' ' }}" +
    "{% else %}{{ 'ASSISTANT: ' }}{% generation %}{{ message['content'] + eos_token }}{% endgeneration %}{% endif %}{% endfor %}" +
    "{% if add_generation_prompt %}{{ 'ASSISTANT:' }}{% endif %}",
  "llama-2-chat":
    "{% if messages[0]['role'] == 'system' %}{% set loop_messages = messages[1:] %}{% set system_message = messages[0]['content'] %}" +
    "{% else %}{% set loop_messages = messages %}{% set system_message = false %}{% endif %}" +
    "{% for message in loop_messages %}{% if loop.index0 == 0 and system_message != false %}" +
    "{% set content = '<<SYS>>\\n' + system_message + '\\n<</SYS>>\\n\\n' + message['content'] %}{% else %}{% set content = message['content'] %}{% endif %}" +
    "{% if message['role'] == 'user' %}{{ bos_token + '[INST] ' + content.strip() + ' [/INST]' }}" +
    "{% else %}{{ ' ' }}{% generation %}{{ content.strip() + ' ' + eos_token }}{% endgeneration %}{% endif %}{% endfor %}",
  alpaca:
    "{% if messages[0]['role'] == 'system' %}{{ messages[0]['content'] }}{% set loop_messages = messages[1:] %}" +
    `{% else %}{{ '${ALPACA_PREAMBLE}' }}{% set loop_messages = messages %}{% endif %}{{ '\\n\\n' }}` +
    "{% for message in loop_messages %}{% if message['role'] == 'user' %}{% if not loop.first %}{{ '\\n\\n' }}{% endif %}" +
    "{{ '### Instruction:\\n' + message['content'] + '\\n\\n### Response:' }}" +
    "{% else %}{% generation %}{{ message['content'] + eos_token }}{% endgeneration %}{% endif %}{% endfor %}",
  chatml:
    "{% for message in messages %}{{ '<|im_start|>' + message['role'] + '\\n' }}" +
    "{% if message['role'] == 'assistant' %}{% generation %}{{ message['content'] + '<|im_end|>' }}{% endgeneration %}" +
    "{% else %}{{ message['content'] + '<|im_end|>' }}{% endif %}{{ '\\n' }}{% endfor %}" +
    "{% if add_generation_prompt %}{{ '<|im_start|>assistant\\n' }}{% endif %}",
};

/** The template without TRL's generation markers, for renderers that do not know them. */
export function withoutGenerationMarkers(template: string): string {
  return template.replace(/\{%-? *(end)?generation *-?%\}/g, "");
}
