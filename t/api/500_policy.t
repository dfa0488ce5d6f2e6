# PutPolicy, GetPolicy, DeletePolicy (PCA-API.md §5.18, §4.1) with every error
# the operations model: InvalidPolicyException, LockoutPreventedException,
# ResourceNotFoundException, InvalidArnException, InvalidStateException, plus
# ValidationException from the shapes.
use strict;
use warnings;
use FindBin;
use lib "$FindBin::Bin/../lib";
use Apache::Test qw(-withtestmore);
use ACMPCA::Test;

plan tests => 32, need_module('acmpca');

my $ca = create_ca(type => 'ROOT');
ok($ca, 'a CA (PENDING_CERTIFICATE) to work on');
my $missing = 'arn:aws:acm-pca:us-east-1:123456789012:certificate-authority/00000000-0000-4000-8000-000000000000';

sub policy {
    my(%st) = @_;
    json_encode({ Version => '2012-10-17', Statement => [{
        Effect => 'Allow', Principal => { AWS => '210987654321' }, Action => 'acm-pca:IssueCertificate',
        Resource => $ca, %st }] });
}
sub put { my(undef, undef, $res) = api(PutPolicy => { ResourceArn => $_[0] // $ca, Policy => $_[1] }); $res }

# ---- the happy path, and the states of §4.1 (P allowed)
my $good = policy();
is_api_ok(put($ca, $good), 'PutPolicy on a PENDING_CERTIFICATE CA');
{
    my(undef, $j) = api(GetPolicy => { ResourceArn => $ca });
    is($j && $j->{Policy}, $good, 'GetPolicy returns it verbatim');
    my $pretty = "{\n  \"Version\": \"2012-10-17\",\n  \"Statement\": {\"Effect\": \"Allow\", \"Principal\": \"*\",\n"
        . "    \"Action\": [\"acm-pca:GetCertificate\"], \"Resource\": \"*\"}\n}\n";
    is_api_ok(put($ca, $pretty), 'PutPolicy replaces it (whitespace and all)');
    (undef, $j) = api(GetPolicy => { ResourceArn => $ca });
    is($j && $j->{Policy}, $pretty, '... byte for byte');
    my(undef, undef, $res) = api(DeletePolicy => { ResourceArn => $ca });
    is_api_ok($res, 'DeletePolicy');
    (undef, undef, $res) = api(GetPolicy => { ResourceArn => $ca });
    is_aws_error($res, 400, 'ResourceNotFoundException', qr/policy/, 'GetPolicy without a policy: ResourceNotFoundException');
    (undef, undef, $res) = api(DeletePolicy => { ResourceArn => $ca });
    is_api_ok($res, 'DeletePolicy without a policy succeeds (AWS)');
}

# ---- InvalidPolicyException
for my $case (
    ['not JSON', 'not json at all'],
    ['a JSON array', '[]'],
    ['no Version', json_encode({ Statement => [{ Effect => 'Allow', Principal => '*', Action => 'acm-pca:GetCertificate', Resource => '*' }] })],
    ['an empty Statement', json_encode({ Version => '2012-10-17', Statement => [] })],
    ['Effect Maybe', policy(Effect => 'Maybe')],
    ['no Principal', json_encode({ Version => '2012-10-17', Statement => [{ Effect => 'Allow', Action => 'acm-pca:GetCertificate', Resource => '*' }] })],
    ['a principal that is not an account', policy(Principal => { AWS => 'bob' })],
    ['an action of another service', policy(Action => 's3:GetObject')],
    ['an action acm-pca does not have', policy(Action => 'acm-pca:IssueCertificates')],
    ['no Resource', json_encode({ Version => '2012-10-17', Statement => [{ Effect => 'Allow', Principal => '*', Action => 'acm-pca:GetCertificate' }] })],
    ['a Resource of another CA', policy(Resource => $missing)],
    ['an unknown condition operator', policy(Condition => { NumericLessThan => { 'aws:EpochTime' => '1' } })],
) {
    is_aws_error(put($ca, $case->[1]), 400, 'InvalidPolicyException', undef, "InvalidPolicyException: $case->[0]");
}

# ---- LockoutPreventedException: a policy that denies its author PutPolicy
{
    my $lock = json_encode({ Version => '2012-10-17', Statement => [
        { Effect => 'Deny', Principal => { AWS => 'arn:aws:iam::123456789012:root' }, Action => 'acm-pca:*Policy', Resource => '*' }] });
    is_aws_error(put($ca, $lock), 400, 'LockoutPreventedException', qr/lock/, 'a policy denying the owner PutPolicy: LockoutPreventedException');
    my(undef, undef, $res) = api(GetPolicy => { ResourceArn => $ca });
    is_aws_error($res, 400, 'ResourceNotFoundException', undef, '... and nothing was stored');
}

# ---- ARNs: syntax (ValidationException), type (InvalidArnException), existence
{
    is_aws_error(put('not-an-arn', $good), 400, 'ValidationException', qr/resourceArn|ResourceArn/, 'a ResourceArn that is no ARN: ValidationException');
    is_aws_error(put("$ca/certificate/0a", $good), 400, 'InvalidArnException', undef, 'a certificate ARN: InvalidArnException');
    is_aws_error(put($missing, $good), 400, 'ResourceNotFoundException', undef, 'an unknown CA: ResourceNotFoundException');
    my(undef, undef, $res) = api(GetPolicy => { ResourceArn => $missing });
    is_aws_error($res, 400, 'ResourceNotFoundException', undef, 'GetPolicy of an unknown CA');
    (undef, undef, $res) = api(DeletePolicy => { ResourceArn => "$ca/certificate/0a" });
    is_aws_error($res, 400, 'InvalidArnException', undef, 'DeletePolicy with a certificate ARN');
    is_aws_error(put($ca, ''), 400, 'ValidationException', undef, 'an empty Policy: ValidationException');
}

# ---- DELETED: InvalidStateException for all three (§4.1)
{
    my(undef, undef, $res) = api(DeleteCertificateAuthority => { CertificateAuthorityArn => $ca });
    ok($res->code == 200, 'the CA is deleted') or diag($res->content);
    is_aws_error(put($ca, $good), 400, 'InvalidStateException', qr/DELETED/, 'PutPolicy on a DELETED CA: InvalidStateException');
    (undef, undef, $res) = api(GetPolicy => { ResourceArn => $ca });
    is_aws_error($res, 400, 'InvalidStateException', undef, 'GetPolicy on a DELETED CA');
    (undef, undef, $res) = api(DeletePolicy => { ResourceArn => $ca });
    is_aws_error($res, 400, 'InvalidStateException', undef, 'DeletePolicy on a DELETED CA');
}
