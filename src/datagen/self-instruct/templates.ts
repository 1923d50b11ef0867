/**
 * Few-shot templates for Self-Instruct's steps 2 and 3 (Wang et al., 2022). The structure follows the
 * paper's released pipeline — a "Task: … / Is it classification? Yes|No" list for identification,
 * input-first examples ("Example 1 / Input / Output") for generation tasks and output-first examples
 * ("Class label / Input") for classification tasks — with demonstrations written for camelid.
 * Each is data: pass your own with --templates to use the original prompts.
 */
export interface SelfInstructTemplates {
  /** Prompt = classification + " " + instruction + "\nIs it classification?" */
  classification: string;
  /** Prompt = inputFirst + " " + instruction + "\n" (generation tasks). */
  inputFirst: string;
  /** Prompt = outputFirst + " " + instruction + "\n" (classification tasks). */
  outputFirst: string;
}

export const defaultSelfInstructTemplates: SelfInstructTemplates = {
  classification: `Can the following task be regarded as a classification task with finite output labels?

Task: Decide whether the email below is spam or not spam.
Is it classification? Yes

Task: Write a short poem about autumn leaves.
Is it classification? No

Task: Tell me whether the number is prime.
Is it classification? Yes

Task: Summarize the news article in two sentences.
Is it classification? No

Task: Which of the two sentences is grammatically correct?
Is it classification? Yes

Task: Suggest three names for a new coffee shop.
Is it classification? No

Task: Identify the sentiment of the tweet: positive, negative or neutral.
Is it classification? Yes

Task: Explain how a bicycle's gears work to a ten-year-old.
Is it classification? No

Task:`,
  inputFirst: `Come up with examples for the following tasks. Try to generate multiple examples when possible. If the task doesn't require additional input, you can generate the output directly.

Task: Convert the recipe quantities for the given number of servings.
Example 1
Input: Pancakes for 2: 1 cup flour, 1 egg, 3/4 cup milk. Make it for 4.
Output: 2 cups flour, 2 eggs, 1 1/2 cups milk.
Example 2
Input: Soup for 6: 3 carrots, 1.5 liters of stock. Make it for 2.
Output: 1 carrot, 0.5 liters of stock.

Task: Give a one-sentence definition of the word for a child.
Example 1
Input: volcano
Output: A volcano is a mountain that can let out hot melted rock from deep inside the earth.

Task: What are some good ways to remember people's names?
Output: Repeat the name when you are introduced, link it to something you know, and use it again before you say goodbye.

Task: Rewrite the sentence so that it is more polite.
Example 1
Input: Send me the report now.
Output: Could you please send me the report when you have a moment?
Example 2
Input: Move your car.
Output: Would you mind moving your car, please?

Task:`,
  outputFirst: `Given the classification task definition and the class labels, generate an input that corresponds to each of the class labels. If the task doesn't require input, just generate the correct class label.

Task: Classify the sentiment of the product review.
Class label: Positive
Input: The blender is quiet, powerful and easy to clean. I use it every day.
Class label: Negative
Input: It stopped working after a week and support never answered.

Task: Is the statement true or false?
Class label: True
Input: Water boils at 100 degrees Celsius at sea level.
Class label: False
Input: The sun orbits the earth once a day.

Task: Which of the two words is a fruit?
Class label: Mango
Input: Mango, Hammer
Class label: Plum
Input: Chair, Plum

Task:`,
};
