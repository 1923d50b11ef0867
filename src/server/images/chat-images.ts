// A chat request's images, between the HTTP body and the model call: refused for a model that cannot
// see (400 naming the model and the capability), read and stored once by hash, and replaced by their
// references in what the request log and the conversation store keep.
import { InvalidArgumentError, ModelCapabilityError, UnsupportedFeatureError } from "../../errors/index.js";
import type { CallOptions, ChatImage } from "../../spec/index.js";
import { MEDIA_MARKER } from "../../spec/messages.js";
import type { ModelEntry } from "../model-registry.js";
import type { ChatCompletionRequest, ImageUrlPart } from "../openai/request-schemas.js";
import { chatRequestToCallOptions } from "../openai/to-call-options.js";
import type { ImageIntake } from "./image-intake.js";
import type { ImageReference } from "./image-store.js";

type RequestMessage = ChatCompletionRequest["messages"][number];

/** A logged or stored image part: the reference, never the bytes. */
export interface LoggedImagePart {
  type: "image_url";
  image: ImageReference;
  detail?: ImageUrlPart["image_url"]["detail"];
}

export interface PreparedChat {
  options: CallOptions;
  /** The messages as the request log keeps them. */
  loggedMessages: unknown;
  /** Per request message, its images' references (empty for a message without images). */
  imagesByMessage: ImageReference[][];
}

const imagePartsOf = (message: RequestMessage): ImageUrlPart[] => (Array.isArray(message.content) ? message.content.filter((part): part is ImageUrlPart => part.type === "image_url") : []);

export function hasImages(messages: readonly RequestMessage[]): boolean {
  return messages.some((message) => imagePartsOf(message).length > 0);
}

/**
 * The call options for a chat request, its images read and stored. `where` prefixes parameter names
 * in errors ("request." inside a conversation reply). `storedImages`: the request was built by the
 * server itself and names images it already stored by their storedImagePath (an arena side's turns),
 * taken from the store as they are instead of being decoded, hashed and stored once per answer.
 */
export async function prepareChatCall(
  entry: ModelEntry,
  body: ChatCompletionRequest,
  intake: ImageIntake | undefined,
  where = "",
  { storedImages = false }: { storedImages?: boolean } = {},
): Promise<PreparedChat> {
  if (!hasImages(body.messages)) {
    return { options: chatRequestToCallOptions(body), loggedMessages: body.messages, imagesByMessage: body.messages.map(() => []) };
  }
  if (!entry.spec.capabilities?.includes("vision")) throw new ModelCapabilityError(entry.id, "vision");
  if (!intake) throw new UnsupportedFeatureError("this server keeps no images (it has no data directory)");
  const count = body.messages.reduce((sum, message) => sum + imagePartsOf(message).length, 0);
  if (count > intake.options.maxPerRequest) {
    throw new InvalidArgumentError(`${where}messages`, `the request has ${count} images; this server takes at most ${intake.options.maxPerRequest} per request`);
  }
  const images = new Map<ImageUrlPart, { image: ChatImage; reference: ImageReference }>();
  for (const [messageIndex, message] of body.messages.entries()) {
    if (!Array.isArray(message.content)) continue;
    for (const [partIndex, part] of message.content.entries()) {
      const parameter = `${where}messages[${messageIndex}].content[${partIndex}]`;
      if (part.type === "text" && part.text.includes(MEDIA_MARKER)) {
        // A local vision model would take the literal marker for an image that is not there.
        throw new InvalidArgumentError(`${parameter}.text`, `${parameter}.text contains "${MEDIA_MARKER}", the marker that stands for an image; it cannot appear in the text of a request with images`);
      }
      if (part.type === "image_url") images.set(part, await intake.read(part.image_url.url, part.image_url.detail, `${parameter}.image_url.url`, { stored: storedImages }));
    }
  }
  const read = (part: ImageUrlPart) => images.get(part)!;
  const loggedMessages = body.messages.map((message) =>
    Array.isArray(message.content)
      ? {
          ...message,
          content: message.content.map((part) =>
            part.type === "text" ? part : ({ type: "image_url", image: read(part).reference, ...(part.image_url.detail ? { detail: part.image_url.detail } : {}) } satisfies LoggedImagePart),
          ),
        }
      : message,
  );
  return {
    options: chatRequestToCallOptions(body, (part) => read(part).image),
    loggedMessages,
    imagesByMessage: body.messages.map((message) => imagePartsOf(message).map((part) => read(part).reference)),
  };
}
