/**
 * Explicit capability checks: a field a provider cannot honour is a 400 naming
 * the field, never a silent drop that changes the answer. A field set to its
 * neutral value (`logprobs: false`, a zero penalty, an empty `logit_bias`) asks
 * for nothing, so it is dropped instead of refused.
 */
import { invalidRequest, type GatewayError } from '../../../protocol/gateway-error.ts';

/** True when `value` asks the model for nothing beyond the default. */
export function isNeutralValue(field: string, value: unknown): boolean {
  if (value === null || value === undefined || value === false) return true;
  switch (field) {
    case 'n':
      return value === 1;
    case 'presence_penalty':
    case 'frequency_penalty':
      return value === 0;
    case 'logit_bias':
    case 'chat_template_kwargs':
      return typeof value === 'object' && Object.keys(value).length === 0;
    // The values that ask for what a model does anyway.
    case 'reasoning_effort':
      return value === 'none';
    case 'verbosity':
      return value === 'medium';
    case 'modalities':
      return Array.isArray(value) && value.every((modality) => modality === 'text');
    default:
      return false;
  }
}

/** The 400 for a field `provider` does not support. */
export function unsupportedField(provider: string, param: string, reason = `${provider} does not support it`): GatewayError {
  return invalidRequest(`Unsupported parameter '${param}' for ${provider}: ${reason}.`, param, 'unsupported_parameter');
}
