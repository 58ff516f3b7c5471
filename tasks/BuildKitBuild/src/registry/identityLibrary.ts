/**
 * The four @azure/identity credentials the task uses, and nothing else of the library. Loaded with a
 * dynamic import only when an Azure connection is used; importing the classes by name (instead of the
 * whole namespace) lets the bundler leave out the rest (DefaultAzureCredential, browser flows, ...).
 */
export {
  AzurePipelinesCredential,
  ClientCertificateCredential,
  ClientSecretCredential,
  ManagedIdentityCredential,
} from '@azure/identity';
