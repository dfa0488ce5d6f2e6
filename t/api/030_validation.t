# Shape validation against the service model (ValidationException naming the
# member: required, enum, length, range, pattern) and the common CA-ARN checks
# with the error precedence of PCA-API.md §1.5: validation -> InvalidArnException
# -> ResourceNotFoundException -> state -> argument semantics.
use strict;
use warnings;
use FindBin;
use lib "$FindBin::Bin/../lib";
use Apache::Test qw(-withtestmore);
use ACMPCA::Test;

my $ca_base = 'arn:aws:acm-pca:us-east-1:123456789012:certificate-authority/';
my $missing = $ca_base . '0b7e0c7a-3c1f-4f5e-9a51-1d2c3b4a5f60';
my $cfg = { KeyAlgorithm => 'EC_prime256v1', SigningAlgorithm => 'SHA256WITHECDSA', Subject => { CommonName => 'v' } };
sub create_with { my %over = @_; return { CertificateAuthorityType => 'ROOT', CertificateAuthorityConfiguration => $cfg, %over } }
sub cfg_with { my %over = @_; return { %$cfg, %over } }
sub subj { cfg_with(Subject => {@_}) }

# [op, body, member pattern, name]
my @validation = (
    [DescribeCertificateAuthority => {}, qr/certificateAuthorityArn/i, 'required ARN missing'],
    [DescribeCertificateAuthority => { CertificateAuthorityArn => 'not-an-arn' }, qr/certificateAuthorityArn/i, 'ARN not matching the model pattern'],
    [DescribeCertificateAuthority => { CertificateAuthorityArn => 'arn:' }, qr/certificateAuthorityArn/i, 'ARN shorter than 5'],
    [DescribeCertificateAuthority => { CertificateAuthorityArn => $ca_base . ('a' x 200) }, qr/certificateAuthorityArn/i, 'ARN longer than 200'],
    [ListCertificateAuthorities => { MaxResults => 0 },
        qr/Value '0' at 'maxResults' failed to satisfy constraint: Member must have value greater than or equal to 1/,
        'MaxResults 0 (AWS message form)'],
    [ListCertificateAuthorities => { MaxResults => 1001 }, qr/maxResults.*less than or equal to 1000/i, 'MaxResults 1001'],
    [ListCertificateAuthorities => { MaxResults => -3 }, qr/maxResults/i, 'MaxResults negative'],
    [ListCertificateAuthorities => { ResourceOwner => 'ME' }, qr/resourceOwner/i, 'ResourceOwner not in the enum'],
    [ListCertificateAuthorities => { NextToken => '' }, qr/nextToken/i, 'NextToken empty'],
    [CreateCertificateAuthority => { CertificateAuthorityConfiguration => $cfg }, qr/certificateAuthorityType/i, 'CertificateAuthorityType missing'],
    [CreateCertificateAuthority => { CertificateAuthorityType => 'ROOT' }, qr/certificateAuthorityConfiguration/i, 'configuration missing'],
    [CreateCertificateAuthority => create_with(CertificateAuthorityType => 'INTERMEDIATE'), qr/certificateAuthorityType/i, 'CertificateAuthorityType not in the enum'],
    [CreateCertificateAuthority => create_with(CertificateAuthorityConfiguration => cfg_with(KeyAlgorithm => 'RSA_1024')), qr/keyAlgorithm/i, 'KeyAlgorithm not in the enum'],
    [CreateCertificateAuthority => create_with(CertificateAuthorityConfiguration => cfg_with(SigningAlgorithm => 'MD5WITHRSA')), qr/signingAlgorithm/i, 'SigningAlgorithm not in the enum'],
    [CreateCertificateAuthority => create_with(CertificateAuthorityConfiguration => { KeyAlgorithm => 'EC_prime256v1', SigningAlgorithm => 'SHA256WITHECDSA' }), qr/subject/i, 'Subject missing'],
    [CreateCertificateAuthority => create_with(CertificateAuthorityConfiguration => subj(Country => 'USA')), qr/country/i, 'Country of 3 letters'],
    [CreateCertificateAuthority => create_with(CertificateAuthorityConfiguration => subj(Country => 'U1')), qr/country/i, 'Country not letters'],
    [CreateCertificateAuthority => create_with(CertificateAuthorityConfiguration => subj(CommonName => 'c' x 65)), qr/commonName/i, 'CommonName of 65'],
    [CreateCertificateAuthority => create_with(CertificateAuthorityConfiguration => subj(CommonName => 'c', GivenName => 'g' x 17)), qr/givenName/i, 'GivenName of 17'],
    [CreateCertificateAuthority => create_with(CertificateAuthorityConfiguration => subj(CommonName => 'c', GenerationQualifier => 'IIII')), qr/generationQualifier/i, 'GenerationQualifier of 4'],
    [CreateCertificateAuthority => create_with(CertificateAuthorityConfiguration => subj(CommonName => 'c', DistinguishedNameQualifier => 'a*b')), qr/distinguishedNameQualifier/i, 'DistinguishedNameQualifier outside PrintableString'],
    [CreateCertificateAuthority => create_with(CertificateAuthorityConfiguration => subj(CustomAttributes => [])), qr/customAttributes/i, 'CustomAttributes empty'],
    [CreateCertificateAuthority => create_with(CertificateAuthorityConfiguration => subj(CustomAttributes => [{ ObjectIdentifier => 'not.an.oid', Value => 'x' }])), qr/objectIdentifier/i, 'CustomAttributes OID not an OID'],
    [CreateCertificateAuthority => create_with(CertificateAuthorityConfiguration => subj(CustomAttributes => [{ ObjectIdentifier => '2.5.4.3' }])), qr/value/i, 'CustomAttributes Value missing'],
    [CreateCertificateAuthority => create_with(IdempotencyToken => 't' x 37), qr/idempotencyToken/i, 'IdempotencyToken of 37'],
    [CreateCertificateAuthority => create_with(Tags => []), qr/tags/i, 'Tags empty'],
    [CreateCertificateAuthority => create_with(Tags => [{ Key => 'k' x 129 }]), qr/key/i, 'tag Key of 129'],
    [CreateCertificateAuthority => create_with(Tags => [{ Key => 'k', Value => 'v' x 257 }]), qr/value/i, 'tag Value of 257'],
    [CreateCertificateAuthority => create_with(Tags => [{ Value => 'v' }]), qr/key/i, 'tag Key missing'],
    [CreateCertificateAuthority => create_with(UsageMode => 'LONG'), qr/usageMode/i, 'UsageMode not in the enum'],
    [CreateCertificateAuthority => create_with(KeyStorageSecurityStandard => 'FIPS_140_3'), qr/keyStorageSecurityStandard/i, 'KeyStorageSecurityStandard not in the enum'],
    [CreateCertificateAuthority => create_with(RevocationConfiguration => { CrlConfiguration => { Enabled => JSON::PP::true, S3BucketName => 'bucket-a', ExpirationInDays => 0 } }), qr/expirationInDays/i, 'CRL ExpirationInDays 0'],
    [CreateCertificateAuthority => create_with(RevocationConfiguration => { CrlConfiguration => { Enabled => JSON::PP::true, S3BucketName => 'bucket-a', ExpirationInDays => 5001 } }), qr/expirationInDays/i, 'CRL ExpirationInDays 5001'],
    [CreateCertificateAuthority => create_with(RevocationConfiguration => { CrlConfiguration => { Enabled => JSON::PP::true, S3BucketName => 'bucket-a', S3ObjectAcl => 'PRIVATE' } }), qr/s3ObjectAcl/i, 'S3ObjectAcl not in the enum'],
    [CreateCertificateAuthority => create_with(RevocationConfiguration => { CrlConfiguration => { S3BucketName => 'bucket-a' } }), qr/enabled/i, 'CrlConfiguration Enabled missing'],
    [CreateCertificateAuthority => create_with(RevocationConfiguration => { CrlConfiguration => { Enabled => JSON::PP::true, S3BucketName => 'ab' } }), qr/s3BucketName/i, 'S3BucketName of 2'],
    [DeleteCertificateAuthority => { CertificateAuthorityArn => $missing, PermanentDeletionTimeInDays => 6 }, qr/permanentDeletionTimeInDays/i, 'PermanentDeletionTimeInDays 6 (before the CA lookup)'],
    [DeleteCertificateAuthority => { CertificateAuthorityArn => $missing, PermanentDeletionTimeInDays => 31 }, qr/permanentDeletionTimeInDays/i, 'PermanentDeletionTimeInDays 31'],
    [UpdateCertificateAuthority => { CertificateAuthorityArn => $missing, Status => 'BOGUS' }, qr/status/i, 'Status not in the enum'],
    [TagCertificateAuthority => { CertificateAuthorityArn => $missing }, qr/tags/i, 'Tags missing'],
    [ListTags => { CertificateAuthorityArn => $missing, MaxResults => 0 }, qr/maxResults/i, 'ListTags MaxResults 0'],
    [ListTags => { CertificateAuthorityArn => $ca_base . 'x/widget', MaxResults => 0 }, qr/maxResults/i, 'ValidationException before InvalidArnException'],
    [ImportCertificateAuthorityCertificate => { CertificateAuthorityArn => $missing }, qr/certificate/i, 'Certificate missing'],
    [ImportCertificateAuthorityCertificate => { CertificateAuthorityArn => $missing, Certificate => '' }, qr/certificate/i, 'Certificate empty'],
    [ImportCertificateAuthorityCertificate => { CertificateAuthorityArn => $missing, Certificate => b64('x' x 32769) }, qr/certificate/i, 'Certificate over 32768 bytes'],
    [IssueCertificate => { CertificateAuthorityArn => $missing, Csr => b64('x'), SigningAlgorithm => 'SHA256WITHECDSA' }, qr/validity/i, 'Validity missing'],
    [IssueCertificate => { CertificateAuthorityArn => $missing, Csr => b64('x'), SigningAlgorithm => 'SHA256WITHECDSA', Validity => { Type => 'DAYS', Value => 0 } }, qr/value/i, 'Validity Value 0'],
    [IssueCertificate => { CertificateAuthorityArn => $missing, Csr => b64('x'), SigningAlgorithm => 'SHA256WITHECDSA', Validity => { Type => 'WEEKS', Value => 1 } }, qr/type/i, 'Validity Type not in the enum'],
    [IssueCertificate => { CertificateAuthorityArn => $missing, Csr => b64('x' x 32769), SigningAlgorithm => 'SHA256WITHECDSA', Validity => { Type => 'DAYS', Value => 1 } }, qr/csr/i, 'Csr over 32768 bytes'],
    [IssueCertificate => { CertificateAuthorityArn => $missing, Csr => b64('x'), SigningAlgorithm => 'SHA256WITHECDSA', Validity => { Type => 'DAYS', Value => 1 }, TemplateArn => 'template' }, qr/templateArn/i, 'TemplateArn not an ARN'],
    [GetCertificate => { CertificateAuthorityArn => $missing }, qr/certificateArn/i, 'CertificateArn missing'],
);

my $cert_of_missing = "$missing/certificate/0123456789abcdef0123456789abcdef";
my @invalid_arn = (
    [DescribeCertificateAuthority => { CertificateAuthorityArn => 'arn:aws:acm-pca:us-east-1:123456789012:widget/0b7e0c7a-3c1f-4f5e-9a51-1d2c3b4a5f60' }, 'a widget ARN'],
    [DescribeCertificateAuthority => { CertificateAuthorityArn => 'arn:aws:acm:us-east-1:123456789012:certificate/0b7e0c7a-3c1f-4f5e-9a51-1d2c3b4a5f60' }, 'an ACM certificate ARN'],
    [DescribeCertificateAuthority => { CertificateAuthorityArn => $cert_of_missing }, 'a PCA certificate ARN as CA ARN'],
    [GetCertificateAuthorityCsr   => { CertificateAuthorityArn => 'arn:aws:acm-pca:us-east-1:123456789012:widget/0b7e0c7a-3c1f-4f5e-9a51-1d2c3b4a5f60' }, 'a widget ARN (GetCertificateAuthorityCsr)'],
    [GetCertificate => { CertificateAuthorityArn => $cert_of_missing, CertificateArn => $missing }, 'CA and certificate ARNs swapped'],
);

my $foreign_account = 'arn:aws:acm-pca:us-east-1:210987654321:certificate-authority/0b7e0c7a-3c1f-4f5e-9a51-1d2c3b4a5f60';
my $foreign_region  = 'arn:aws:acm-pca:eu-west-1:123456789012:certificate-authority/0b7e0c7a-3c1f-4f5e-9a51-1d2c3b4a5f60';
my $a = { CertificateAuthorityArn => $missing };
my @not_found = (
    [DescribeCertificateAuthority => $a],
    [GetCertificateAuthorityCsr => $a],
    [GetCertificateAuthorityCertificate => $a],
    [ImportCertificateAuthorityCertificate => { %$a, Certificate => b64('not a certificate') }],
    [UpdateCertificateAuthority => { %$a, Status => 'DISABLED' }],
    [DeleteCertificateAuthority => { %$a, PermanentDeletionTimeInDays => 7 }],
    [RestoreCertificateAuthority => $a],
    [TagCertificateAuthority => { %$a, Tags => [{ Key => 'aws:reserved' }] }],
    [UntagCertificateAuthority => { %$a, Tags => [{ Key => 'k' }] }],
    [ListTags => $a],
    [IssueCertificate => { %$a, Csr => b64('not a CSR'), SigningAlgorithm => 'SHA256WITHRSA',
                           Validity => { Type => 'DAYS', Value => 1 } }],
    [GetCertificate => { %$a, CertificateArn => $cert_of_missing }],
    [DescribeCertificateAuthority => { CertificateAuthorityArn => $foreign_account }, 'another account'],
    [DescribeCertificateAuthority => { CertificateAuthorityArn => $foreign_region }, 'another region'],
);

plan tests => @validation + @invalid_arn + @not_found, need_module('acmpca');

for my $c (@validation) {
    my($op, $body, $re, $name) = @$c;
    my(undef, undef, $res) = api($op => $body);
    is_aws_error($res, 400, 'ValidationException', $re, "$op: $name -> ValidationException");
}

for my $c (@invalid_arn) {
    my($op, $body, $name) = @$c;
    my(undef, undef, $res) = api($op => $body);
    is_aws_error($res, 400, 'InvalidArnException', undef, "$op: $name -> InvalidArnException");
}

for my $c (@not_found) {
    my($op, $body, $name) = @$c;
    my(undef, undef, $res) = api($op => $body);
    is_aws_error($res, 400, 'ResourceNotFoundException', undef,
        "$op: " . ($name // 'unknown CA') . ' -> ResourceNotFoundException');
}
